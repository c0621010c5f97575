"""The performance suite's own modules run in quick mode with tiny sizes.

Each module checks its answers before timing (a wrong answer raises), so a
passing run means the figures are of correct work; here we check the rows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# the benchmarks package lives at the project root, beside src/
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import (  # noqa: E402
    approvals,
    feed,
    footprint,
    lifecycle,
    queries,
    regex,
    scale,
    stores,
    timers,
    transactions,
)
from benchmarks.durability import SQLiteConnections  # noqa: E402

COLUMNS = {"benchmark", "size", "impl", "ops_per_s", "median_s", "spread", "ratio"}


def _check(rows: list[dict[str, Any]], benchmarks: set[str]) -> None:
    assert rows
    for r in rows:
        assert set(r) >= COLUMNS, r
        assert r["checked"] is True
        assert r["median_s"] > 0
        assert r["spread"] >= 0
    assert {r["benchmark"] for r in rows} >= benchmarks


def test_lifecycle_quick() -> None:
    rows = lifecycle.run(quick=True, counts={"memory": 4, "sqlite": 3, "postgresql": 3})
    _check(rows, {"password-reset", "phone-worker"})
    assert {r["impl"] for r in rows} >= {"memory", "sqlite"}


def test_stores_quick_compares_at_the_same_durability() -> None:
    pytest.importorskip("eventsourcing")
    rows = stores.run(quick=True, requests=3)
    _check(rows, {"append"})
    sqlite = {(r["impl"], r["mode"]) for r in rows if r["impl"].endswith("-sqlite")}
    assert sqlite == {
        (impl, f"WAL, synchronous={level}")
        for impl in ("reqfulfill-sqlite", "eventsourcing-sqlite")
        for level in ("FULL", "NORMAL")
    }


def test_sqlite_connections_set_and_count(tmp_path: Path) -> None:
    import sqlite3

    path = str(tmp_path / "t.db")
    with SQLiteConnections("FULL", count=True) as conns:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # what a store may set for itself
        conns.apply()
        conns.check()
        db.execute("CREATE TABLE t (x)")  # a write on its own: one commit
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (1)")
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT * FROM t")
        db.execute("COMMIT")  # changed nothing
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)
    assert (conns.count.commits, conns.count.empty) == (2, 1)
    db.close()


def test_transactions_counts_commits() -> None:
    rows = transactions.run(quick=True, requests=1)
    _check(rows, {"commits"})
    by = {(r["size"], r["impl"]): r for r in rows}
    reset, phone = by["password-reset", "reqfulfill-sqlite"], by["phone-order", "reqfulfill-sqlite"]
    assert 1 <= reset["commits"] < phone["commits"]
    assert reset["transactions"] == reset["commits"] + reset["empty"]


def test_process_quick_against_spiffworkflow() -> None:
    pytest.importorskip("SpiffWorkflow")
    from benchmarks import process

    rows = process.run(quick=True, counts={"memory": 1, "sqlite": 1}, dmn_sizes=(20,))
    _check(rows, {"process:password-reset", "process:phone-order", "dmn-routing", "dmn-route"})
    sizes = {(r["size"], r["impl"]) for r in rows if r["benchmark"] == "process:phone-order"}
    assert sizes == {
        *(("memory", impl) for impl in process.MEMORY_IMPLS),
        *((level, impl) for level in ("FULL", "NORMAL") for impl in process.SQLITE_IMPLS),
    }
    assert all(r["bytes"] > 0 for r in rows if r["size"] in ("FULL", "NORMAL"))
    commits = {(r["benchmark"], r["impl"]): r["commits"] for r in rows if r["size"] == "FULL"}
    # SpiffWorkflow writes its instance once at the start and once after every step
    assert commits["process:phone-order", "spiffworkflow"] == 7
    assert commits["process:password-reset", "spiffworkflow"] == 3
    assert (
        4
        <= commits["process:password-reset", "reqfulfill"]
        <= commits["process:phone-order", "reqfulfill"]
        <= 12
    )
    spiff = [r for r in rows if (r["size"], r["impl"]) == ("memory", "spiffworkflow")]
    assert len(spiff) == 2
    assert all(r["ratio_objects"] > 0 for r in spiff)


def test_timers_quick() -> None:
    rows = timers.run(quick=True, sizes=(200, 2_000))
    _check(rows, {"timers-none-due", "timers-10-due"})


def test_queries_quick() -> None:
    rows = queries.run(quick=True, size=1_000)
    _check(rows, {"requests:requester", "requests:all", "queue:group", "metrics:item"})
    assert {r["impl"] for r in rows} >= {"sqlite"}
    assert all(r["size"] == 1_000 for r in rows)


def test_approvals_quick() -> None:
    rows = approvals.run(quick=True, sizes=(200, 2_000))
    _check(rows, {"pending-approvals"})
    assert {r["impl"] for r in rows} >= {"memory", "sqlite"}


def test_footprint_quick() -> None:
    rows = footprint.run(quick=True)
    _check(rows, {"import", "memory-per-request"})
    assert next(r for r in rows if r["benchmark"] == "memory-per-request")["bytes"] > 0


def test_scale_quick() -> None:
    rows = scale.run(quick=True, parts=("replay", "routing"))
    _check(rows, {"replay", "routing"})


def test_regex_quick() -> None:
    rows = regex.run(quick=True, sizes=(500, 1_000))
    _check(rows, {"regex"})
    assert {r["impl"] for r in rows} >= {"(a+)+$", "a{0,999}a{0,999}b"}
    assert any(r["impl"].startswith("budget:") for r in rows)


def test_main_lists_the_modules() -> None:
    from benchmarks.__main__ import _modules

    assert {
        "lifecycle",
        "stores",
        "timers",
        "approvals",
        "footprint",
        "scale",
        "regex",
        "transactions",
    } <= set(_modules())


def test_main_names_the_machine() -> None:
    from benchmarks.__main__ import machine

    where = machine()
    assert {"cpu", "cores", "python", "postgresql", "date"} <= set(where)
    assert where["cores"] >= 1
    assert where["cpu"]


def test_feed_quick() -> None:
    rows = feed.run(quick=True, size=300)
    _check(rows, {"feed-handler", "feed-read"})
    assert {r["impl"] for r in rows} >= {"sqlite"}
    for r in rows:
        if r["benchmark"] == "effect-start":
            assert r["mode"] in ("wake-ups", "polling")
            assert r["p99_s"] > 0


def test_intake_quick() -> None:
    from benchmarks import intake

    rows = intake.run(quick=True, sizes=(50,))
    _check(rows, {"suggest", "suggest-index"})
    assert {r.get("mode") for r in rows if r["benchmark"] == "suggest-index"} == {"cold", "warm"}
