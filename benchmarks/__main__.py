"""Run every benchmark module, print one table, write ``benchmarks/results.json``.

Each module has ``run(quick: bool = False) -> list[dict]`` returning rows with
``benchmark``, ``size``, ``impl``, ``ops_per_s``, ``median_s``, ``spread`` and
``ratio``; a row may add ``mode`` (how the implementation runs: a peer's mode,
the durability setting) and figures of its own (``commits``, ``bytes``, ...),
printed in the last column. ``--quick`` runs fewer rounds (used by the test
suite's smoke test). The machine (CPU, cores, Python, PostgreSQL server, date,
load) is printed first and written with the rows.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reqfulfill.cli.progress import Progress

MODULES = (
    "routing",
    "sla_calendar",
    "lifecycle",
    "stores",
    "timers",
    "queries",
    "approvals",
    "footprint",
    "import_time",
    "scale",
    "regex",
    "transactions",
    "process",
    "feed",
    "intake",
)

COLUMNS = ["benchmark", "size", "impl", "mode", "ops_per_s", "median_s", "spread", "ratio"]
_NOT_EXTRA = {*COLUMNS, "checked"}


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


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from benchmarks.lifecycle import pg_dsn

    dsn = pg_dsn()
    postgresql = None
    if dsn is not None:
        from benchmarks.durability import pg_server_version

        postgresql = pg_server_version(dsn)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "postgresql": postgresql,
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _extra(row: dict[str, Any]) -> str:
    return " ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k not in _NOT_EXTRA)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("only", nargs="*", help="module names to run (default: all)")
    args = parser.parse_args(argv)
    where = machine()
    for key, value in where.items():
        print(f"{key}: {value}")
    print(flush=True)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    chosen = {n: m for n, m in _modules().items() if not args.only or n in args.only}
    # the progress line (stderr, on a terminal only) counts benchmark modules
    with Progress(len(chosen), "benchmarks", unit="modules") as bar:
        for name, module in chosen.items():
            bar.relabel(f"benchmarks ({name})")
            if isinstance(module, ImportError):
                skipped.append(f"{name}: {module}")
            else:
                rows.extend(module.run(quick=args.quick))
            bar.advance()
        bar.relabel("benchmarks")
    widths = {c: max(len(c), *(len(_fmt(r.get(c, ""))) for r in rows)) for c in COLUMNS}
    print("  ".join(c.ljust(widths[c]) for c in COLUMNS) + "  extra")
    for row in rows:
        cells = "  ".join(_fmt(row.get(c, "")).ljust(widths[c]) for c in COLUMNS)
        print(f"{cells}  {_extra(row)}".rstrip())
    for line in skipped:
        print(f"skipped {line}")
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps({"machine": where, "rows": rows}, indent=2, default=str))
    print(f"\n{len(rows)} rows; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
