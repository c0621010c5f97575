"""Long fuzzing runs of reqfulfill's configuration and request loaders (outside CI).

The oracle is the one the test suite uses (``tests/fuzz/_oracle.py``): every
refusal of bad input is a ``ValidationError`` whose problems name a path, a
refused submit writes nothing, and nothing else is ever raised.

With atheris installed (``pip install atheris``) it runs under libFuzzer::

    python fuzz/fuzz_config.py -atheris_runs=100000

Without atheris (it does not build everywhere) it falls back to a plain
random-mutation loop over the same seeds and the same oracle::

    python fuzz/fuzz_config.py --runs 100000 --seed 1

Either way it prints how many inputs it tried and every distinct untyped
exception (type and innermost reqfulfill frame) with one input that raised it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuzz"))

from _oracle import random_mutation
from _targets import FILE_LOADERS, FILE_SEEDS, TARGETS, load_file, run_one

NAMES = sorted(TARGETS)
FILE_NAMES = sorted(FILE_LOADERS)


class Report:
    def __init__(self) -> None:
        self.inputs = 0
        self.failures: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def record(self, signature: str | None, shown: str) -> None:
        self.inputs += 1
        if signature is not None:
            self.failures[signature] += 1
            self.examples.setdefault(signature, shown[:400])

    def print(self, seconds: float) -> None:
        untyped = sum(self.failures.values())
        print(f"inputs tried: {self.inputs} in {seconds:.0f}s; untyped exceptions: {untyped}")
        for signature, count in self.failures.most_common():
            print(f"  {count:6d}  {signature}\n          e.g. {self.examples[signature]}")


def _mutate_bytes(content: bytes, rng: random.Random) -> bytes:
    data = bytearray(content)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        if not data or choice < 0.2:
            data[rng.randint(0, len(data)) :] = b""  # truncate
        elif choice < 0.6:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.8:
            at = rng.randint(0, len(data))
            data[at:at] = rng.choice([b"[", b"{", b'"', b"=", b"\x00", b"\xff", b"]]", b"\n[["])
        else:
            at = rng.randrange(len(data))
            del data[at : at + rng.randint(1, 40)]
    return bytes(data)


def one_input(rng: random.Random, report: Report) -> None:
    """One random input: a mutated data form (80%) or a mutated file (20%)."""
    if rng.random() < 0.8:
        name = rng.choice(NAMES)
        seed, load = TARGETS[name]
        data: Any = seed
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            data = random_mutation(data, rng)
        try:
            shown = f"{name}: {json.dumps(data, default=repr)}"
        except (ValueError, RecursionError):
            shown = f"{name}: <deeply nested value>"
        report.record(run_one(lambda: load(data)), shown)
    else:
        name = rng.choice(FILE_NAMES)
        content = _mutate_bytes(rng.choice(FILE_SEEDS), rng)
        suffix = rng.choice([".toml", ".json"])
        report.record(
            run_one(lambda: load_file(name, content, suffix)), f"{name}{suffix}: {content[:300]!r}"
        )


def fallback(runs: int, seed: int) -> Report:
    rng = random.Random(seed)
    report = Report()
    for _ in range(runs):
        one_input(rng, report)
    return report


def with_atheris(argv: list[str]) -> None:  # pragma: no cover - needs atheris
    import atheris

    report = Report()
    started = time.monotonic()

    def test_one_input(data: bytes) -> None:
        # the bytes seed a structure-aware mutation of the seeds, plus raw file bytes
        provider = atheris.FuzzedDataProvider(data)
        rng = random.Random(provider.ConsumeInt(8))
        if provider.ConsumeBool():
            one_input(rng, report)
        else:
            name = FILE_NAMES[provider.ConsumeIntInRange(0, len(FILE_NAMES) - 1)]
            suffix = ".json" if provider.ConsumeBool() else ".toml"
            content = provider.ConsumeBytes(4096)
            report.record(
                run_one(lambda: load_file(name, content, suffix)),
                f"{name}{suffix}: {content[:300]!r}",
            )
        if report.inputs % 10_000 == 0:
            report.print(time.monotonic() - started)

    import atexit

    atexit.register(lambda: report.print(time.monotonic() - started))
    atheris.instrument_all()  # coverage feedback from every loaded module, reqfulfill's included
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-atheris", action="store_true", help="use the fallback loop")
    args, rest = parser.parse_known_args()
    if not args.no_atheris:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed: using the random-mutation fallback", file=sys.stderr)
        else:  # pragma: no cover
            with_atheris([sys.argv[0], *rest])
            return 0
    started = time.monotonic()
    report = fallback(args.runs, args.seed)
    report.print(time.monotonic() - started)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
