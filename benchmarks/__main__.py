"""Run every benchmark module, print one table, write ``benchmarks/results.json``.

Each module has ``run(quick: bool = False) -> list[dict]`` returning rows with
``benchmark``, ``size``, ``impl``, ``ops_per_s``, ``median_s``, ``spread`` and
``ratio``. ``--quick`` runs fewer rounds (used by the test suite's smoke test).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

MODULES = (
    "routing",
    "sla_calendar",
    "lifecycle",
    "stores",
    "timers",
    "footprint",
    "import_time",
    "scale",
    "regex",
)


def _modules() -> dict[str, Any]:
    """The benchmark modules that import (a peer of the bench extra may be missing)."""
    found: dict[str, Any] = {}
    for name in MODULES:
        try:
            # a fixed list of this package's own modules, never names from data
            found[name] = importlib.import_module(f"benchmarks.{name}")  # noqa: TID251
        except ImportError as exc:
            found[name] = exc
    return found


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("only", nargs="*", help="module names to run (default: all)")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for name, module in _modules().items():
        if args.only and name not in args.only:
            continue
        if isinstance(module, ImportError):
            skipped.append(f"{name}: {module}")
            continue
        rows.extend(module.run(quick=args.quick))
    columns = ["benchmark", "size", "impl", "ops_per_s", "median_s", "spread", "ratio"]
    widths = {c: max(len(c), *(len(_fmt(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c, "")).ljust(widths[c]) for c in columns))
    for line in skipped:
        print(f"skipped {line}")
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2, default=str))
    print(f"\n{len(rows)} rows; machine: {machine}; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
