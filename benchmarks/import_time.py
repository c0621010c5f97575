"""Import-time benchmark: ``import reqfulfill`` beside importing its dependencies.

Times whole processes, ``python -c "import reqfulfill"`` and ``python -c
"import attrs, cattrs, pluggy, typing_extensions"``, started one after the
other (interleaved, after one unmeasured warm-up run of each), 9 runs each by
default, and compares the medians: the target is ``import reqfulfill`` at most
2x the dependencies (interpreter start-up included on both sides, since that
is what a command-line tool or a worker process pays). A third row times
``from reqfulfill import FulfillmentService, Worker``, what a host process
imports before it does any work.

Rows: ``median_s`` is seconds per process; ``ratio`` is the target (2.0)
divided by the process's median over the dependencies' median (>= 1 meets the
target); ``vs_dependencies`` is that quotient itself.

Run: ``python -m benchmarks import_time`` (one table row each), or
``python -m benchmarks.import_time [--runs N]`` for the medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.lifecycle import row

TARGET_RATIO = 2.0

STATEMENTS = {
    "dependencies": "import attrs, cattrs, pluggy, typing_extensions",
    "reqfulfill": "import reqfulfill",
    "service+worker": "from reqfulfill import FulfillmentService, Worker",
}
"""What each row times, in a fresh interpreter."""


def bytecode_env() -> dict[str, str]:
    """This process's environment, bytecode writing allowed: an installed package
    imports from its cached bytecode (pip compiles a wheel's modules), so the warm-up
    run writes the caches of this checkout's modules even where
    ``PYTHONDONTWRITEBYTECODE`` is set (it would make every run compile every module
    from source: several times the import)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def process_time(statement: str) -> float:
    """Wall-clock seconds of ``python -c statement`` in a fresh interpreter."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=bytecode_env())
    return time.perf_counter() - start


def measure(runs: int = 9, statements: dict[str, str] = STATEMENTS) -> dict[str, list[float]]:
    """Seconds per process for each statement, ``runs`` times, interleaved."""
    for statement in statements.values():
        process_time(statement)  # warm-up: bytecode caches, the OS page cache
    times: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, statement in statements.items():
            times[name].append(process_time(statement))
    return times


def run(quick: bool = False, runs: int | None = None) -> list[dict[str, Any]]:
    times = measure(runs or (3 if quick else 9))
    base = statistics.median(times["dependencies"])
    rows = []
    for name, samples in times.items():
        quotient = statistics.median(samples) / base
        rows.append(
            row(
                "import-process",
                name,
                "python -c",
                samples,
                TARGET_RATIO / quotient if name != "dependencies" else 1.0,
                vs_dependencies=round(quotient, 2),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_time")
    parser.add_argument("--runs", type=int, default=9, help="processes per statement")
    args = parser.parse_args(argv)
    times = measure(args.runs)
    base = statistics.median(times["dependencies"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<15} median {median * 1000:7.1f} ms  ({median / base:.2f}x dependencies)")
    ratio = statistics.median(times["reqfulfill"]) / base
    verdict = "met" if ratio <= TARGET_RATIO else "not met"
    print(f"import reqfulfill / dependencies: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
