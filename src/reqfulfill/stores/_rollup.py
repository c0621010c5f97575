"""The metric rollup of the SQL stores: one row per (dimension, key) with the sums and
histograms of :class:`~reqfulfill.stores._facts.MetricsTally`, kept up to date by a
catch-up, not by the append.

An append's facts upsert marks the facts row dirty (``rolled = 0``) and bumps its
``seq``. :meth:`metric_tallies` of a store first catches up: it reads the dirty facts
rows with their *rolled copy* (what each request now contributes to the rollup, in
``rf_facts_rolled``), takes the old contribution off and puts the new one on
(:class:`Deltas`), rewrites the rollup rows it changed (:func:`applied`), stores the new
rolled copies and marks each facts row clean *only if its ``seq`` is still the one
read*: a facts row an append changed meanwhile stays dirty, and the next catch-up moves
it from the copy just stored to its newest facts. So the rollup always equals the
tallies of the rolled copies, which equal the facts rows once nothing is dirty.

The SQL of both stores is here (``?`` placeholders; ``pg()`` makes PostgreSQL's), and
the pure logic: what one facts row contributes, deltas, the histogram blobs. A
histogram is a blob of little-endian signed integers (32-bit when they all fit, else
64-bit, said by its first byte): the values (centi-hours, ascending) then their running
counts (how many up to each value), so a read decodes it with one ``array.frombytes``
and takes a percentile with one bisection; a catch-up copies a changed blob once,
shifting the running counts after each changed value.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, repeat
from operator import add
from typing import Any

from reqfulfill.stores._facts import (
    METRIC_DIMENSIONS,
    Histogram,
    MetricsTally,
    sql_int,
    tally_rows,
)
from reqfulfill.stores._query_sql import metric_queries, window_params

__all__ = [
    "ANY_ROLLED",
    "COUNTERS",
    "DELETE_ROLLUP",
    "DIRTY_BATCH",
    "DIRTY_PROBE",
    "HISTOGRAMS",
    "MARK_ROLLED",
    "ROLLED_COLUMNS",
    "ROLLUP_READ",
    "ROLLUP_UNDO",
    "UPSERT_ROLLED",
    "UPSERT_ROLLUP",
    "Deltas",
    "Fetch",
    "Many",
    "Rollup",
    "applied",
    "build",
    "catch_up",
    "changed",
    "contribution",
    "decode",
    "encode",
    "histogram_of",
    "key_of",
    "rollup_migration",
    "rollup_of",
    "rollup_rows",
    "rollup_tables",
    "stored_key",
    "tallies_of",
]

COUNTERS = (
    "count",
    "with_sla",
    "sla_met",
    "escalations",
    "rated",
    "rating_sum",
    "surveyed",
    "answered",
    "from_stock",
    "from_supplier",
    "from_mixed",
)
"""The sums of a rollup row, in its column order (those of :class:`MetricsTally`)."""

HISTOGRAMS = ("assign", "fulfil", "fulfil_stock", "fulfil_supplier")
"""The histograms of a rollup row (blobs), in its column order."""

ROLLED_COLUMNS = (
    "item, grp, agent, closed, assign_ch, fulfil_ch, sla_met, rating, escalations, surveyed, source"
)
"""The facts columns a request's contribution depends on, in :func:`contribution`'s
order (the rolled copy keeps the same)."""

_NONE_KEY = ""
"""The stored key of the requests without one (a real key is stored as ``=key``)."""


def _rollup_table(blob: str) -> str:
    counters = ", ".join(f"{name} BIGINT NOT NULL" for name in COUNTERS)
    histograms = ", ".join(f"{name} {blob} NOT NULL" for name in HISTOGRAMS)
    return (
        "CREATE TABLE rf_metric_rollup (dim TEXT NOT NULL, key TEXT NOT NULL,"
        f" {counters}, {histograms}, PRIMARY KEY (dim, key))"
    )


def rollup_tables(blob: str) -> tuple[str, ...]:
    """The rollup tables (``blob``: the binary column type, ``BLOB`` or ``BYTEA``)."""
    return (
        _rollup_table(blob),
        """CREATE TABLE rf_facts_rolled (
            request_id TEXT PRIMARY KEY,
            item TEXT,
            grp TEXT,
            agent TEXT,
            closed SMALLINT NOT NULL,
            assign_ch BIGINT,
            fulfil_ch BIGINT,
            sla_met SMALLINT,
            rating SMALLINT,
            escalations INTEGER NOT NULL,
            surveyed SMALLINT,
            source TEXT
        )""",
    )


def rollup_migration(blob: str) -> tuple[str, ...]:
    """Schema step (SQLite 8, PostgreSQL 9): the facts rows' ``rolled`` flag and
    ``seq``, every existing row dirty (the first catch-up, ``reqfulfill db upgrade``
    or else the first metrics call, builds the rollup), and the rollup tables."""
    return (
        "ALTER TABLE rf_request_facts ADD COLUMN rolled SMALLINT NOT NULL DEFAULT 0",
        "ALTER TABLE rf_request_facts ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX rf_request_facts_dirty ON rf_request_facts (request_id) WHERE rolled = 0",
        *rollup_tables(blob),
    )


ROLLUP_UNDO = (
    "DROP TABLE rf_metric_rollup",
    "DROP TABLE rf_facts_rolled",
    "DROP INDEX rf_request_facts_dirty",
    "ALTER TABLE rf_request_facts DROP COLUMN seq",
    "ALTER TABLE rf_request_facts DROP COLUMN rolled",
)
"""What takes a store back to the schema before :func:`rollup_migration` (the tests
of upgrades from older schemas start there)."""

DIRTY_PROBE = "SELECT 1 FROM rf_request_facts WHERE rolled = 0 LIMIT 1"
"""Is there anything to catch up (a read: no write lock when nothing changed)."""

DIRTY_BATCH = (
    "SELECT f.request_id, f.seq, f.item, f.grp, f.agent, f.closed, f.assign_ch,"
    " f.fulfil_ch, f.sla_met, f.rating, f.escalations, f.surveyed, f.source,"
    " r.request_id, r.item, r.grp, r.agent, r.closed, r.assign_ch, r.fulfil_ch,"
    " r.sla_met, r.rating, r.escalations, r.surveyed, r.source"
    " FROM rf_request_facts AS f LEFT JOIN rf_facts_rolled AS r"
    " ON r.request_id = f.request_id"
    " WHERE f.rolled = 0 AND f.request_id > ? ORDER BY f.request_id LIMIT ?"
)
"""A batch of dirty facts rows after a request id, with their rolled copies (NULLs
for a request not rolled up yet)."""

UPSERT_ROLLED = (
    f"INSERT INTO rf_facts_rolled (request_id, {ROLLED_COLUMNS})"  # noqa: S608 - constant
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (request_id) DO UPDATE SET item = excluded.item, grp = excluded.grp,"
    " agent = excluded.agent, closed = excluded.closed, assign_ch = excluded.assign_ch,"
    " fulfil_ch = excluded.fulfil_ch, sla_met = excluded.sla_met, rating = excluded.rating,"
    " escalations = excluded.escalations, surveyed = excluded.surveyed,"
    " source = excluded.source"
)

MARK_ROLLED = "UPDATE rf_request_facts SET rolled = 1 WHERE request_id = ? AND seq = ?"
"""Clean, unless an append changed the row since it was read (its ``seq`` moved)."""

_ALL_COLUMNS = ", ".join((*COUNTERS, *HISTOGRAMS))

ROLLUP_READ = f"SELECT key, {_ALL_COLUMNS} FROM rf_metric_rollup WHERE dim = ?"  # noqa: S608
"""The rollup rows of one dimension: what an all-time tally reads."""

_SOME_ROWS = 400
"""How many rollup rows a catch-up reads per statement (those it changes)."""


def rollup_rows(count: int) -> str:
    """The statement reading ``count`` rollup rows of one dimension (its parameters:
    the dimension, then the stored keys)."""
    keys = ", ".join("?" * count)
    return (
        f"SELECT dim, key, {_ALL_COLUMNS} FROM rf_metric_rollup"  # noqa: S608 - constant columns
        f" WHERE dim = ? AND key IN ({keys})"
    )


ANY_ROLLED = "SELECT 1 FROM rf_facts_rolled LIMIT 1"
"""Has the rollup been built (else the first catch-up builds it in bulk)."""

_BUILD = (
    "DELETE FROM rf_metric_rollup",
    "DELETE FROM rf_facts_rolled",
    f"INSERT INTO rf_facts_rolled (request_id, {ROLLED_COLUMNS})"  # noqa: S608 - constant
    f" SELECT request_id, {ROLLED_COLUMNS} FROM rf_request_facts",
    "UPDATE rf_request_facts SET rolled = 1 WHERE rolled = 0",
    # the planner's statistics may say most rows are dirty (a migrated or bulk-loaded
    # store): then the probe for a dirty row would scan the table, not the index
    "ANALYZE rf_request_facts",
)

UPSERT_ROLLUP = (
    f"INSERT INTO rf_metric_rollup (dim, key, {_ALL_COLUMNS}) VALUES"  # noqa: S608 - constant
    f" (?, ?, {', '.join('?' * (len(COUNTERS) + len(HISTOGRAMS)))})"
    " ON CONFLICT (dim, key) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in (*COUNTERS, *HISTOGRAMS))
)

DELETE_ROLLUP = "DELETE FROM rf_metric_rollup WHERE dim = ? AND key = ?"


def stored_key(key: str | None) -> str:
    """The rollup's key column for a key (None: the requests without one)."""
    return _NONE_KEY if key is None else "=" + key


def key_of(stored: str) -> str | None:
    """The key a rollup key column holds (see :func:`stored_key`)."""
    return None if stored == _NONE_KEY else stored[1:]


_SWAP = sys.byteorder != "little"

# a blob's first byte: the width of its integers (4 when every value and count fits)
_NARROW = next(code for code in "ilq" if array(code).itemsize == 4)
_WIDTHS = {b"4": _NARROW, b"8": "q"}
_INT32 = (-(1 << 31), (1 << 31) - 1)


def _blob(values: array[int], running: array[int]) -> bytes:
    """The blob of a histogram's arrays (``values`` ascending, their running counts),
    in the arrays' own width."""
    if not values:
        return b""
    if _SWAP:  # pragma: no cover - big-endian machines
        values, running = array(values.typecode, values), array(running.typecode, running)
        values.byteswap()
        running.byteswap()
    return (b"4" if values.itemsize == 4 else b"8") + values.tobytes() + running.tobytes()


def _fits(low: int, high: int) -> bool:
    return _INT32[0] <= low and high <= _INT32[1]


def encode(histogram: dict[int, int]) -> bytes:
    """A histogram (centi-hours -> how many, no zero counts) as a blob: a width byte
    (``4`` when every value and running count fits 32 bits, else ``8``), then the
    values ascending, then their running counts (how many up to each value), both
    little-endian."""
    values = sorted(histogram)
    running = list(accumulate(histogram[v] for v in values))
    code = _NARROW if not values or _fits(values[0], max(values[-1], running[-1])) else "q"
    return _blob(array(code, values), array(code, running))


def decode(blob: bytes) -> tuple[array[int], array[int]]:
    """The values and running counts of a histogram blob (see :func:`encode`), in
    arrays of its width (32-bit for an empty one)."""
    data = bytes(blob)
    if not data:
        return array(_NARROW), array(_NARROW)
    numbers = array(_WIDTHS[data[:1]])
    numbers.frombytes(data[1:])
    if _SWAP:  # pragma: no cover - big-endian machines
        numbers.byteswap()
    half = len(numbers) // 2
    return numbers[:half], numbers[half:]


def changed(blob: bytes, change: dict[int, int]) -> bytes:
    """A histogram blob with ``change`` (value -> count difference) applied, in one
    pass over the arrays: the parts between changed values are copied (shifted by the
    changes before them), at C speed. A blob stays as wide as it was unless a change
    needs 64 bits."""
    moves = sorted((value, n) for value, n in change.items() if n)
    if not moves:
        return bytes(blob)
    values, running = decode(blob)
    grown = (running[-1] if running else 0) + sum(n for _, n in moves if n > 0)
    if values.itemsize == 4 and not _fits(moves[0][0], max(moves[-1][0], grown)):
        values, running = array("q", values), array("q", running)
    code = values.typecode
    out_values, out_running = array(code), array(code)
    done = 0  # values[:done] are copied
    offset = 0  # what the changes so far add to every running count after them

    def copy(end: int) -> None:
        out_values.extend(values[done:end])
        if offset:
            out_running.extend(map(add, running[done:end], repeat(offset)))
        else:
            out_running.extend(running[done:end])

    for value, n in moves:
        i = bisect_left(values, value, done)
        copy(i)
        if i < len(values) and values[i] == value:
            count = running[i] - (running[i - 1] if i else 0) + n
            done = i + 1
        else:
            count = n
            done = i
        if count < 0:
            raise AssertionError(f"a histogram count below zero at {value}")
        if count:
            out_values.append(value)
            out_running.append((out_running[-1] if out_running else 0) + count)
        offset += n
    copy(len(values))
    return _blob(out_values, out_running)


def contribution(row: Sequence[Any]) -> tuple[list[int], list[int | None]]:
    """What one facts row (:data:`ROLLED_COLUMNS`) adds to its keys' rollup rows:
    the :data:`COUNTERS` and a value (or None) per histogram, as the SQL tally counts
    it (``stores._query_sql``)."""
    _, _, _, closed, assign_ch, fulfil_ch, sla_met, rating, escalations, surveyed, source = row
    is_closed = closed == 1
    rated = is_closed and rating is not None
    asked = is_closed and surveyed == 1
    fulfil = None if fulfil_ch is None else sql_int(fulfil_ch)
    sourced = source if fulfil is not None else None
    counters = [
        1,
        int(sla_met is not None),
        int(sla_met == 1),
        sql_int(escalations),
        int(rated),
        sql_int(rating) if rated else 0,
        int(asked),
        int(asked and rating is not None),
        int(sourced == "stock"),
        int(sourced == "supplier"),
        int(sourced == "mixed"),
    ]
    values: list[int | None] = [
        None if assign_ch is None else sql_int(assign_ch),
        fulfil,
        fulfil if sourced == "stock" else None,
        fulfil if sourced == "supplier" else None,
    ]
    return counters, values


_Slot = tuple[list[int], list[dict[int, int]]]


class Deltas:
    """The changes a catch-up makes to the rollup rows, per (dimension, key): counter
    differences and histogram count differences (a mutable accumulator)."""

    def __init__(self) -> None:
        self.slots: dict[tuple[str, str | None], _Slot] = {}

    def _add(self, row: Sequence[Any], sign: int) -> None:
        counters, values = contribution(row)
        for dim, key in zip(METRIC_DIMENSIONS, row[:3], strict=True):
            slot = self.slots.get((dim, key))
            if slot is None:
                slot = self.slots[dim, key] = ([0] * len(COUNTERS), [{}, {}, {}, {}])
            sums, histograms = slot
            for i, n in enumerate(counters):
                sums[i] += sign * n
            for histogram, value in zip(histograms, values, strict=True):
                if value is not None:
                    histogram[value] = histogram.get(value, 0) + sign

    def change(self, old: Sequence[Any] | None, new: Sequence[Any]) -> None:
        """A request's contribution moves from ``old`` (its rolled copy; None when it
        has none) to ``new`` (its facts row), both in :data:`ROLLED_COLUMNS` order."""
        if old is not None:
            if tuple(old) == tuple(new):
                return
            self._add(old, -1)
        self._add(new, 1)


Rollup = dict[tuple[str, str | None], tuple[list[int], list[bytes]]]
"""Rollup rows: (dimension, key) -> counters and histogram blobs."""


def rollup_of(rows: Iterable[Sequence[Any]]) -> Rollup:
    """The rollup rows of :func:`rollup_rows` statements."""
    n = len(COUNTERS)
    return {
        (str(r[0]), key_of(str(r[1]))): ([sql_int(v) for v in r[2 : 2 + n]], list(r[2 + n :]))
        for r in rows
    }


def applied(current: Rollup, deltas: Deltas) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """The rollup rows ``deltas`` change, as :data:`UPSERT_ROLLUP` parameters, and the
    (dimension, stored key) of those left with no request (to delete)."""
    upserts: list[tuple[Any, ...]] = []
    deletes: list[tuple[str, str]] = []
    empty = b""
    for (dim, key), (sums, changes) in deltas.slots.items():
        old = current.get((dim, key))
        counters = list(sums) if old is None else [a + b for a, b in zip(old[0], sums, strict=True)]
        if counters[0] == 0:
            if old is not None:
                deletes.append((dim, stored_key(key)))
            continue
        blobs: list[bytes] = []
        for i, change in enumerate(changes):
            blob = empty if old is None else bytes(old[1][i])
            if any(change.values()):
                blob = changed(blob, change)
            blobs.append(blob)
        upserts.append((dim, stored_key(key), *counters, *blobs))
    return upserts, deletes


def histogram_of(blob: bytes) -> Histogram | tuple[()]:
    """The histogram a blob holds, running counts made (``()`` for an empty one)."""
    if not blob:
        return ()
    values, running = decode(blob)
    return Histogram(values, running)


def tallies_of(rows: Iterable[Sequence[Any]]) -> list[MetricsTally]:
    """The tallies of the rollup rows of one dimension (:data:`ROLLUP_READ`)."""
    n = len(COUNTERS)
    out = []
    for r in rows:
        c = [sql_int(v) for v in r[1 : 1 + n]]
        assign, fulfil, stock, supplier = (histogram_of(b) for b in r[1 + n :])
        out.append(
            MetricsTally(
                key_of(str(r[0])),
                count=c[0],
                with_sla=c[1],
                sla_met=c[2],
                escalations=c[3],
                rated=c[4],
                rating_sum=c[5],
                surveyed=c[6],
                answered=c[7],
                assign=assign,
                fulfil=fulfil,
                from_stock=c[8],
                from_supplier=c[9],
                from_mixed=c[10],
                fulfil_stock=stock,
                fulfil_supplier=supplier,
            )
        )
    return out


Fetch = Callable[[str, Sequence[Any]], Sequence[Sequence[Any]]]
"""Run a statement (``?`` placeholders) in the catch-up's transaction; its rows."""

Many = Callable[[str, Sequence[Sequence[Any]]], None]
"""Run a statement once per parameter tuple, in the catch-up's transaction."""


def catch_up(
    fetch: Fetch,
    many: Many,
    *,
    batch: int = 5000,
    between: Callable[[], None] | None = None,
    before_build: Callable[[], None] | None = None,
) -> int:
    """Bring the rollup up to the facts rows, inside the caller's write transaction
    (one catch-up at a time: SQLite's write lock, PostgreSQL's advisory lock); return
    how many facts rows it read. The first one (no rolled copy yet) builds the rollup
    in bulk (:func:`build`). ``between`` (tests) runs after the dirty rows are read and
    before they are marked clean, where a concurrent append may land;
    ``before_build`` keeps appends out of a bulk build (PostgreSQL locks the facts)."""
    if not fetch(ANY_ROLLED, ()):
        if before_build is not None:
            before_build()
        return build(fetch, many)
    deltas = Deltas()
    done = 0
    after = ""
    while rows := fetch(DIRTY_BATCH, (after, batch)):
        rolled: list[Sequence[Any]] = []
        marks: list[Sequence[Any]] = []
        for r in rows:
            new = tuple(r[2:13])
            deltas.change(None if r[13] is None else tuple(r[14:25]), new)
            rolled.append((r[0], *new))
            marks.append((r[0], r[1]))
        if between is not None:
            between()
        many(UPSERT_ROLLED, rolled)
        many(MARK_ROLLED, marks)
        after = str(rows[-1][0])
        done += len(rows)
    current: Rollup = {}
    for dim in METRIC_DIMENSIONS:
        keys = [stored_key(key) for d, key in deltas.slots if d == dim]
        for start in range(0, len(keys), _SOME_ROWS):
            some = keys[start : start + _SOME_ROWS]
            current.update(rollup_of(fetch(rollup_rows(len(some)), (dim, *some))))
    upserts, deletes = applied(current, deltas)
    if upserts:
        many(UPSERT_ROLLUP, upserts)
    if deletes:
        many(DELETE_ROLLUP, deletes)
    return done


def _row_of(dim: str, t: MetricsTally) -> tuple[Any, ...]:
    blobs = (encode(dict(h)) for h in (t.assign, t.fulfil, t.fulfil_stock, t.fulfil_supplier))
    counters = (
        t.count,
        t.with_sla,
        t.sla_met,
        t.escalations,
        t.rated,
        t.rating_sum,
        t.surveyed,
        t.answered,
        t.from_stock,
        t.from_supplier,
        t.from_mixed,
    )
    return (dim, stored_key(t.key), *counters, *blobs)


def build(fetch: Fetch, many: Many) -> int:
    """Build the rollup from scratch with the SQL tallies of every facts row (inside
    the caller's transaction, appends kept out: SQLite's write lock, PostgreSQL's
    table lock); return how many facts rows it counted."""
    window = window_params(None, None)  # all time
    upserts: list[Sequence[Any]] = []
    total = 0
    for dim in METRIC_DIMENSIONS:
        counters, assign, fulfil = (fetch(q, window) for q in metric_queries(dim))
        tallies = tally_rows(counters, assign, fulfil)
        upserts += [_row_of(dim, t) for t in tallies]
        total = sum(t.count for t in tallies)
    for statement in _BUILD:
        many(statement, [()])
    if upserts:
        many(UPSERT_ROLLUP, upserts)
    return total
