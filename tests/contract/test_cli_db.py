"""``reqfulfill db upgrade URL`` (the ``reqfulfill.cli.db`` command group)."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from reqfulfill.cli.db import add_commands
from reqfulfill.stores.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reqfulfill")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


def test_sqlite_upgrade_creates_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new" / "store.db"
    assert _run(["db", "upgrade", f"sqlite:///{path}"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"schema version {SQLITE_SCHEMA_VERSION}")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM rf_events").fetchone() == (0,)


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    assert _run(["db", "upgrade", "--json", url]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "url": url,
        "schema_version": SQLITE_SCHEMA_VERSION,
    }


@pytest.mark.postgres
def test_postgres_upgrade_is_idempotent(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from reqfulfill.stores.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION

    assert _run(["db", "upgrade", pg_url]) == 0
    assert _run(["db", "upgrade", "--json", pg_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(f"schema version {PG_SCHEMA_VERSION}")
    assert json.loads(out[1])["schema_version"] == PG_SCHEMA_VERSION


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memory://", "sqlite:///"),
        ("ftp://example.org/x", "sqlite:///"),
        ("postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2", "OperationalError"),
    ],
)
def test_bad_or_unreachable_urls_exit_2(
    url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["db", "upgrade", url]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert ":pw@" not in err


def _downgrade_to_before_the_facts(url: str) -> None:
    """Make a store written by this release look like one of the release before: no
    facts table, no query indexes it added, the schema version before (the feed's)."""
    statements = [
        "DROP TABLE rf_request_facts",
        "DROP INDEX rf_requests_item",
        "DROP INDEX rf_requests_state",
        "DROP TABLE rf_approvals",  # the steps after the facts' (issues 17, 19)
        "DROP TABLE rf_messages",
        "DROP TABLE rf_metric_rollup",  # the rollup's step (issue 20)
        "DROP TABLE rf_facts_rolled",
    ]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for statement in statements:
                db.execute(statement)
            db.execute("UPDATE rf_schema SET version = 3")
        db.close()
        return
    import psycopg
    from psycopg import sql

    from reqfulfill.stores.postgres import split_url

    dsn, schema = split_url(url)
    assert schema is not None
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in statements:
            db.execute(statement)  # constant text
        db.execute("DELETE FROM rf_schema WHERE version >= 5")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/old.db"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_upgrade_builds_the_metric_facts_of_the_requests_already_stored(
    old_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from reqfulfill import Channel, FixedClock, FulfillmentService, lifecycle, open_store
    from reqfulfill.metrics import metrics_rows, request_facts
    from reqfulfill.testing import demo_catalog, demo_requester

    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    service = FulfillmentService(demo_catalog(), store=old_url, clock=clock, load_entrypoints=False)
    try:
        for _ in range(3):
            rid = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
            service.claim(rid, "sam.agent")
            clock.advance(minutes=40)
            service.complete_task(rid, "reset", "sam.agent")
            service.close(rid, "sam.agent")
            service.record_feedback(rid, "erin.user", 4)
        service.submit(demo_requester(), "iphone-15", Channel.PORTAL)
        histories = [service.history(s.request_id) for s in service.store.query()]
    finally:
        service.store.close()
    expected = metrics_rows([request_facts(lifecycle.replay(h), h) for h in histories], "item")
    _downgrade_to_before_the_facts(old_url)
    assert _run(["db", "upgrade", old_url]) == 0
    capsys.readouterr()
    store = open_store(old_url)
    try:
        assert store.facts_to_rebuild() == []  # the upgrade replayed the four requests
        fresh = FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)
        assert fresh.metrics(by="item") == expected
        assert [(r.key, r.count, r.csat) for r in expected] == [
            ("iphone-15", 1, None),
            ("password-reset", 3, 4.0),
        ]
    finally:
        store.close()


@pytest.mark.parametrize("how", ["mode=ro", "no write bits"])
def test_upgrade_of_a_read_only_sqlite_store_already_up_to_date_reports_its_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    # the rollup is for a store that may be written: one opened read-only answers
    # all-time metrics from its facts rows, so there is nothing for the upgrade to write
    path = tmp_path / "store.db"
    assert _run(["db", "upgrade", f"sqlite:///{path}"]) == 0
    capsys.readouterr()
    url = f"sqlite:///{path}"
    if how == "mode=ro":
        url += "?mode=ro"
    else:
        path.chmod(0o444)
    assert _run(["db", "upgrade", "--json", url]) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == SQLITE_SCHEMA_VERSION
