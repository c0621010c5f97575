"""Footprint benchmark: ``import reqfulfill`` time and memory per open request.

* ``import`` -- ``python -X importtime -c "import reqfulfill"`` (size
  ``reqfulfill``) and ``-c "from reqfulfill import FulfillmentService, Worker"``
  (size ``service+worker``) in a fresh subprocess, several runs; the figure is
  the cumulative time of the top-level ``reqfulfill`` lines (median of the
  runs, after one warm-up run that writes the bytecode caches, see
  ``import_time.bytecode_env``). Checked: the import succeeds and the report names ``reqfulfill``.
* ``memory-per-request`` -- ``tracemalloc`` around submitting N password
  resets (open, in fulfillment) to a ``memory://?codec=off`` store, which keeps
  the event objects (the default ``memory://`` keeps their JSON text instead:
  about 1.7 times as much); the figure is the traced memory that stays
  allocated, per request, with the service's cache of recent states emptied
  first (so it is what the store holds). Checked: the store's queue holds N open
  requests.

For ``import`` ``median_s`` is seconds per import and ``ratio`` the target
(150 ms) divided by the figure; for memory, ``ops_per_s`` is left 0,
``median_s`` holds bytes per request (see ``bytes``) and ``ratio`` is the
target (2 KiB) divided by the figure (>= 1 meets it).

Run: ``python -m benchmarks footprint [--quick]``.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import tracemalloc
from typing import Any

from benchmarks.import_time import bytecode_env
from benchmarks.lifecycle import START, row
from reqfulfill import Channel, FulfillmentService
from reqfulfill.clock import FixedClock
from reqfulfill.stores.memory import MemoryStore
from reqfulfill.testing import demo_catalog, demo_requester

IMPORT_TARGET_S = 0.150
MEMORY_TARGET_B = 2048


IMPORTS = {
    "reqfulfill": "import reqfulfill",
    "service+worker": "from reqfulfill import FulfillmentService, Worker",
}
"""What each ``import`` row times. ``reqfulfill`` loads the rules and SLA packages, the
worker and ``__version__`` on first use (PEP 562), so the second row is the cost of
the imports a host application makes."""


def import_time(statement: str = "import reqfulfill") -> float:
    """Seconds ``statement`` takes in a fresh interpreter: the cumulative importtime
    of every top-level ``reqfulfill`` module line (the package, then a lazily loaded
    submodule such as ``reqfulfill.worker``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        env=bytecode_env(),
    )
    total = 0
    found = False
    for line in done.stderr.splitlines():
        parts = line.split("|")
        # a top-level line has one space before the module name, nested ones more
        if len(parts) == 3 and parts[2].startswith(" reqfulfill"):
            total += int(parts[1])
            found = found or parts[2].strip() == "reqfulfill"
    if not found:
        raise AssertionError(f"no reqfulfill line in -X importtime output: {done.stderr[-500:]}")
    return total / 1e6


def memory_per_request(count: int) -> float:
    """Bytes the store holds per open request (``count`` password resets submitted):
    what tracemalloc traced while submitting, less what goes with the service (its
    recent-state cache and counts), which is dropped before the second reading."""
    store = MemoryStore(codec=False)
    service = FulfillmentService(
        demo_catalog(), store=store, clock=FixedClock(START), load_entrypoints=False
    )
    requester = demo_requester()
    service.submit(requester, "password-reset", Channel.PORTAL)  # warm caches and interned text
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            service.submit(requester, "password-reset", Channel.PORTAL)
        del service  # the service's recent-state cache is not the store
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    open_now = store.query(state="in_fulfillment")
    if len(open_now) != count + 1:
        raise AssertionError(f"{len(open_now)} open requests, expected {count + 1}")
    return (after - before) / count


def run(quick: bool = False) -> list[dict[str, Any]]:
    runs = 3 if quick else 9
    rows = []
    for size, statement in IMPORTS.items():
        import_time(statement)  # warm-up: the bytecode caches, the OS page cache
        imports = [import_time(statement) for _ in range(runs)]
        ratio = IMPORT_TARGET_S / statistics.median(imports)
        rows.append(row("import", size, "importtime", imports, ratio))
    count = 500 if quick else 10_000
    per = [memory_per_request(count) for _ in range(1 if quick else 3)]
    median_bytes = statistics.median(per)
    return [
        *rows,
        {
            **row("memory-per-request", count, "memory", per, MEMORY_TARGET_B / median_bytes),
            "ops_per_s": 0.0,
            "bytes": round(median_bytes),
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(r)
