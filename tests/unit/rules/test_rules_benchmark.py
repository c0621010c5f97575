"""The routing benchmark runs, every implementation agrees, and the rows are well formed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARK = Path(__file__).parents[3] / "benchmarks" / "routing.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("routing_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_agrees_and_reports() -> None:
    # run() checks that reqfulfill, the naive scan and zen-engine (when installed)
    # return the same decisions before it times anything.
    rows = _load().run(quick=True, sizes=(100, 1_000))
    impls = {(r["benchmark"], r["size"], r["impl"]) for r in rows}
    assert ("routing", 1_000, "naive-scan") in impls
    assert ("scaling", 1_000, "decide") in impls
    for row in rows:
        assert set(row) == {"benchmark", "size", "impl", "ops_per_s", "median_s", "spread", "ratio"}
        assert row["median_s"] > 0
    naive = next(r for r in rows if r["impl"] == "naive-scan" and r["size"] == 1_000)
    assert naive["ratio"] > 2  # the index beats trying 1,000 rules one by one


def test_synthetic_table_shape() -> None:
    module = _load()
    rules = module.routing_rules(1_000)
    assert len(rules) == 1_000
    assert rules[-1]["when"] == {}
    assert len({r["name"] for r in rules}) == 1_000
    assert any("answers.cost" in r["when"] for r in rules)
