"""Old code against new code in the same run: ``python -m benchmarks`` rows, alternated.

Runs the chosen benchmark modules from two source trees (for example a worktree of
the commit before a change, and this checkout), one after the other, ``--rounds``
times, each in a fresh process with that tree's ``src`` first on ``sys.path``, and
prints each row's median throughput in both, and new / old::

    git worktree add --detach ../before HEAD~1
    python scripts/compare_bench.py --old ../before --new . lifecycle stores

``--bench-from .`` runs this checkout's benchmark package on both trees, so the same
rows do the same work on the old and the new code.

Alternating the two trees puts both through the same machine load; the medians of
the rounds are compared, and each row's spread over the rounds is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any


def _run(tree: Path, bench: Path, modules: list[str], quick: bool) -> list[dict[str, Any]]:
    """The rows of ``bench``'s benchmark package run on ``tree``'s code."""
    env = dict(os.environ, PYTHONPATH=f"{tree / 'src'}{os.pathsep}{bench}")
    args = [sys.executable, "-m", "benchmarks", *modules, *(["--quick"] if quick else [])]
    # our own interpreter and benchmark package, with module names from the command line
    subprocess.run(args, cwd=bench, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    results = bench / "benchmarks" / "results.json"
    rows: list[dict[str, Any]] = json.loads(results.read_text())["rows"]
    return rows


def _key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (str(row["benchmark"]), str(row["size"]), str(row["impl"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="the tree before the change")
    parser.add_argument("--new", type=Path, default=Path("."), help="the tree after it")
    parser.add_argument(
        "--bench-from",
        type=Path,
        default=None,
        help="run this tree's benchmarks package on both (default: each tree its own)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the benchmarks' --quick")
    parser.add_argument("modules", nargs="+", help="benchmark modules, e.g. lifecycle stores")
    args = parser.parse_args(argv)
    seen: dict[str, dict[tuple[str, str, str], list[float]]] = {"old": {}, "new": {}}
    for round_ in range(args.rounds):
        for side in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
            tree = (args.old if side == "old" else args.new).resolve()
            bench = args.bench_from.resolve() if args.bench_from else tree
            for row in _run(tree, bench, args.modules, args.quick):
                if isinstance(row.get("ops_per_s"), int | float):
                    seen[side].setdefault(_key(row), []).append(float(row["ops_per_s"]))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'benchmark':<22} {'size':<10} {'impl':<28} {'old/s':>10} {'new/s':>10} {'new/old':>8}")
    worst = None
    for key, old in seen["old"].items():
        new = seen["new"].get(key)
        if not new:
            continue
        a, b = statistics.median(old), statistics.median(new)
        ratio = b / a if a else float("nan")
        worst = ratio if worst is None else min(worst, ratio)
        print(f"{key[0]:<22} {key[1]:<10} {key[2]:<28} {a:>10,.0f} {b:>10,.0f} {ratio:>8.3f}")
    if worst is not None:
        print(f"lowest new/old: {worst:.3f} over {args.rounds} alternated rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
