"""Every public method of ``FulfillmentService`` with arbitrary arguments, at scale, on every
store: the checks of ``tests/property/test_command_inputs.py`` (same strategies, same
oracle), run until ``--inputs`` calls were made, counting instead of stopping.

    PYTHONPATH=src python scripts/fuzz_commands.py --inputs 100000

Stores: ``memory://``, a SQLite file, and PostgreSQL when ``REQFULFILL_PG_DSN`` is set
(a schema of its own, dropped afterwards); each gets a fresh store every ``--batch``
requests, so queries over every request stay quick. Prints, per store and in total,
the inputs, refusals, acceptances, oracle violations and untyped errors ("N inputs,
M untyped"), with one example of each distinct untyped error. Exits 1 if any call
raised an untyped error or broke the oracle.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "property"))

from _command_inputs import METHODS, Bench, Pools, Tally, Untyped, calls, scenarios
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from reqfulfill.stores import MemoryStore, SQLiteStore, Store


@contextlib.contextmanager
def memory(_: Path) -> Iterator[Bench]:
    store = MemoryStore()
    yield Bench(store, store)


@contextlib.contextmanager
def sqlite(tmp: Path) -> Iterator[Bench]:
    path = tmp / f"{uuid.uuid4().hex}.db"
    acting, observer = SQLiteStore(path), SQLiteStore(path)
    try:
        yield Bench(acting, observer)
    finally:
        acting.close()
        observer.close()


@contextlib.contextmanager
def postgresql(_: Path) -> Iterator[Bench]:
    import psycopg
    from psycopg import sql

    from reqfulfill.stores.postgres import PostgresStore

    dsn = os.environ["REQFULFILL_PG_DSN"]
    schema = f"rf_fuzz_{uuid.uuid4().hex[:12]}"
    url = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    acting: Store = PostgresStore.from_url(url)
    observer: Store = PostgresStore.from_url(url)
    try:
        yield Bench(acting, observer)
    finally:
        acting.close()
        observer.close()
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def batch(bench: Bench, tally: Tally, requests: int, violations: list[str]) -> None:
    """``requests`` drawn requests, each acted on by every method (in a drawn order)."""

    @settings(
        max_examples=requests,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        events, state = data.draw(scenarios())
        pools = bench.plant(events, state)
        for method in data.draw(st.permutations(METHODS)):
            arguments: dict[str, Any] = data.draw(calls(pools, method))
            try:
                bench.call(method, arguments, pools, tally)
            except Untyped:
                pass  # counted in the tally
            except AssertionError as broken:
                violations.append(f"{method}: {broken}"[:400])
            pools = Pools.of(bench.service.get(pools.request_id))

    run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="calls in all (default 10,000)")
    parser.add_argument("--batch", type=int, default=50, help="requests per fresh store")
    args = parser.parse_args()
    stores: dict[str, Callable[[Path], contextlib.AbstractContextManager[Bench]]] = {
        "memory": memory,
        "sqlite": sqlite,
    }
    if os.environ.get("REQFULFILL_PG_DSN"):
        stores["postgresql"] = postgresql
    tallies = {name: Tally() for name in stores}
    violations: list[str] = []
    started = time.monotonic()
    per_store = args.inputs // len(stores) + 1
    with tempfile.TemporaryDirectory(prefix="rf-fuzz-commands-") as tmp:
        while any(t.inputs < per_store for t in tallies.values()):
            for name, open_bench in stores.items():
                if tallies[name].inputs < per_store:
                    with open_bench(Path(tmp)) as bench:
                        batch(bench, tallies[name], args.batch, violations)
    total = Tally()
    for name, tally in tallies.items():
        print(
            f"{name:<11} {tally.inputs:>8,} inputs  {tally.refused:>8,} refused  "
            f"{tally.accepted:>7,} accepted  {tally.untyped_count():>4} untyped"
        )
        total.inputs += tally.inputs
        total.refused += tally.refused
        total.accepted += tally.accepted
        for signature, count in tally.untyped.items():
            total.untyped[f"{name}: {signature}"] = count
            total.examples[f"{name}: {signature}"] = tally.examples[signature]
    print(
        f"{total.inputs:,} inputs, {total.untyped_count()} untyped, "
        f"{len(violations)} oracle violations ({time.monotonic() - started:.0f} s)"
    )
    for signature, example in total.examples.items():
        print(f"  {total.untyped[signature]} x {example}")
    for violation in violations[:20]:
        print(f"  violation: {violation}")
    return 1 if total.untyped or violations else 0


if __name__ == "__main__":
    sys.exit(main())
