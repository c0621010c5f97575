"""``import reqfulfill`` stays cheap: the machinery loads on first use (PEP 562).

The benchmark is ``benchmarks/import_time.py``; these tests check what the
import loads, in fresh interpreters, rather than how long it takes (timings
are too noisy for a test).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# the benchmarks package lives at the project root, beside src/
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import import_time  # noqa: E402

LOADED_ON_FIRST_USE = (
    "reqfulfill.lifecycle",
    "reqfulfill.service",
    "reqfulfill.plugins",
    "reqfulfill.hookspecs",
    "reqfulfill.stores",
    "reqfulfill.serialization",
    "reqfulfill.rules",
    "reqfulfill.sla",
    "reqfulfill.worker",
    "importlib.metadata",
    "sqlite3",
)


def _loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout))


def test_import_reqfulfill_loads_none_of_the_machinery() -> None:
    loaded = _loaded_after("import reqfulfill")
    assert "reqfulfill.model.events" in loaded  # the domain types are there at once
    assert sorted(loaded & set(LOADED_ON_FIRST_USE)) == []


def test_first_use_of_a_name_loads_its_module() -> None:
    loaded = _loaded_after(
        "import reqfulfill\nassert reqfulfill.FulfillmentService.__name__ == 'FulfillmentService'"
    )
    assert {"reqfulfill.service", "reqfulfill.lifecycle"} <= loaded
    assert "reqfulfill.worker" not in loaded


def test_every_public_name_imports_in_a_fresh_interpreter() -> None:
    code = (
        "import reqfulfill\n"
        "for name in reqfulfill.__all__:\n"
        "    value = getattr(__import__('reqfulfill', fromlist=[name]), name)\n"
        "    assert value is getattr(reqfulfill, name), name\n"
        "assert set(reqfulfill.__all__) <= set(dir(reqfulfill))\n"
    )
    loaded = _loaded_after(code)
    assert set(LOADED_ON_FIRST_USE) - {"importlib.metadata", "sqlite3"} <= loaded


def test_submodules_bound_by_the_eager_import_are_still_attributes() -> None:
    code = (
        "import reqfulfill\n"
        "assert reqfulfill.stores.Store is reqfulfill.Store\n"
        "assert reqfulfill.service.FulfillmentService is reqfulfill.FulfillmentService\n"
        "assert reqfulfill.hookspecs.reqfulfill_storage\n"
        "assert {'lifecycle', 'stores', 'service', 'plugins'} <= set(dir(reqfulfill))\n"
    )
    assert "reqfulfill.stores" in _loaded_after(code)


def test_the_benchmark_compares_with_the_dependencies() -> None:
    rows = import_time.run(runs=1)
    by_size = {r["size"]: r for r in rows}
    assert set(by_size) == set(import_time.STATEMENTS)
    assert by_size["dependencies"]["vs_dependencies"] == 1.0
    for r in rows:
        assert r["median_s"] > 0
        assert r["checked"] is True
    # ratio = target / (process / dependencies), both rounded to two decimals
    mine = by_size["reqfulfill"]
    assert mine["ratio"] * mine["vs_dependencies"] == pytest.approx(
        import_time.TARGET_RATIO, rel=0.02
    )
