"""The metric facts a store keeps per request, and the tallies it answers metrics with.

Every append writes the request's :class:`MetricFacts` with its summary, in the same
transaction: one row per request (``rf_request_facts`` in the SQL stores), so
:meth:`~reqfulfill.stores.Store.metric_tallies` aggregates rows, never histories. Times
are kept as *centi-hours*, the hundredths of an hour :class:`~reqfulfill.metrics.MetricsRow`
shows: rounding is monotonic, so the nearest-rank percentile of the rounded values is
the rounded percentile of the exact ones, and the tallies' histograms give exactly the
figures a replay of every history gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import overload

import attrs

from reqfulfill.model import events as ev
from reqfulfill.model.enums import TaskKind, TaskState
from reqfulfill.model.request import ServiceRequest

__all__ = [
    "METRIC_DIMENSIONS",
    "SOURCES",
    "Histogram",
    "MetricFacts",
    "MetricsTally",
    "centi_hours",
    "facts_of",
    "merge_facts",
    "source_of",
    "sql_int",
    "tally",
    "tally_rows",
]

METRIC_DIMENSIONS = ("item", "group", "agent")
"""What metrics can be grouped by (a summary column each)."""

SOURCES = ("stock", "supplier", "mixed")
"""Where a fulfilled request's item came from (see :func:`source_of`)."""


def centi_hours(duration: timedelta) -> int:
    """``duration`` in hundredths of an hour, rounded as the metrics show hours.

    >>> centi_hours(timedelta(minutes=90))
    150
    """
    return round(round(duration.total_seconds() / 3600, 2) * 100)


def source_of(request: ServiceRequest) -> str | None:
    """Where a fulfilled request's item came from, from its done ordering tasks:
    ``"stock"`` when they are all ``stock_or_order`` tasks served from stock,
    ``"supplier"`` when they are all supplier orders delivered (a ``supplier_order``
    task, or a ``stock_or_order`` task with nothing in stock), ``"mixed"`` when there
    is some of each; None for a request not fulfilled or with no ordering task done
    (a password reset)."""
    if request.fulfilled_at is None:
        return None
    stock = supplier = False
    for task in request.plan:
        if task.state is TaskState.DONE and task.kind.orders:
            if task.kind is TaskKind.STOCK_OR_ORDER and task.source == "stock":
                stock = True
            else:
                supplier = True
    if stock and supplier:
        return "mixed"
    if stock:
        return "stock"
    return "supplier" if supplier else None


# slots=False: built per append (see ServiceRequest)
@attrs.frozen(slots=False)
class MetricFacts:
    """What the metrics need of one request, as one append leaves it.

    ``fulfil_ch``, ``sla_met``, ``rating`` and ``source`` (:func:`source_of`) describe
    the request as it now is (the store overwrites them). Three facts come from the
    history, so an append gives only its own events' part and the store merges it:
    ``assign_ch`` (time to the first assignment, when this append assigns; the store
    keeps the first it gets),
    ``escalations`` (this append's; the store adds them up) and ``surveyed`` (set by
    a closing in this append; else the store keeps what it had).
    """

    assign_ch: int | None = None
    fulfil_ch: int | None = None
    sla_met: bool | None = None
    rating: int | None = None
    escalations: int = 0
    surveyed: bool | None = None
    source: str | None = None


_FACT_EVENTS: tuple[type[ev.Event], ...] = (
    ev.RequestClaimed,
    ev.RequestAssigned,
    ev.RequestEscalated,
    ev.RequestClosed,
)
"""The event types :func:`facts_of` reads a fact from."""


def facts_of(request: ServiceRequest, events: Iterable[ev.Event]) -> MetricFacts:
    """The facts an append of ``events`` leaves ``request`` with (see :class:`MetricFacts`)."""
    assigned_at: datetime | None = None
    escalations = 0
    surveyed: bool | None = None
    for event in events:
        if not isinstance(event, _FACT_EVENTS):
            continue  # most events tell none of the three facts: one check, not three
        if assigned_at is None and (
            isinstance(event, ev.RequestClaimed)
            or (isinstance(event, ev.RequestAssigned) and event.agent is not None)
        ):
            assigned_at = event.at
        elif isinstance(event, ev.RequestEscalated):
            escalations += 1
        elif isinstance(event, ev.RequestClosed):
            surveyed = event.survey
    if (
        assigned_at is None
        and not escalations
        and surveyed is None
        and request.fulfilled_at is None
        and request.feedback is None
        and not request.sla.stopped
    ):
        return _NO_FACTS  # most appends: no fact yet (what the fields below would give)
    fulfil: int | None = None
    if request.fulfilled_at is not None:
        if request.sla.stopped and request.sla.target is not None:
            fulfil = centi_hours(request.sla.used)
        else:
            fulfil = centi_hours(request.fulfilled_at - request.created_at)
    sla_met = None
    if request.sla.stopped and request.sla.target is not None:
        sla_met = not request.sla.breached
    return MetricFacts(  # by position, in field order
        None if assigned_at is None else centi_hours(assigned_at - request.created_at),
        fulfil,
        sla_met,
        request.feedback.rating if request.feedback is not None else None,
        escalations,
        surveyed,
        source_of(request),
    )


class Histogram(Sequence[tuple[int, int]]):
    """A histogram held as two parallel sequences: ``values`` (ascending) and the
    ``running`` counts (how many values up to each, so a percentile is a bisection):
    the SQL stores' rollup decodes its blobs into one without making a pair per value.
    It is a sequence of ``(value, count)`` pairs and equals (and hashes as) the tuple
    of them, so a :class:`MetricsTally` holding one equals one holding the tuple."""

    __slots__ = ("running", "values")

    def __init__(self, values: Sequence[int], running: Sequence[int]) -> None:
        if len(values) != len(running):
            raise ValueError("a histogram needs as many running counts as values")
        self.values = values
        self.running = running

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[int, int]]: ...

    def __getitem__(self, index: int | slice) -> tuple[int, int] | Sequence[tuple[int, int]]:
        if isinstance(index, slice):
            return tuple(self)[index]
        index = range(len(self.values))[index]  # negative indexes, IndexError
        before = self.running[index - 1] if index else 0
        return (self.values[index], self.running[index] - before)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        before = 0
        for value, upto in zip(self.values, self.running, strict=True):
            yield value, upto - before
            before = upto

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Histogram):
            return list(self.values) == list(other.values) and list(self.running) == list(
                other.running
            )
        if isinstance(other, tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Histogram({tuple(self)!r})"

    def total(self) -> int:
        """How many values the histogram holds."""
        return self.running[-1] if self.running else 0


Pairs = tuple[tuple[int, int], ...] | Histogram
"""A histogram: ``(value, how many)`` pairs in ascending order of value."""

_NO_FACTS = MetricFacts()
"""The facts of an append that tells none: shared, as it is frozen."""


@attrs.frozen
class MetricsTally:
    """The sums of one item, group or agent (``key``; None for requests without one)
    over a window: what :func:`reqfulfill.metrics.rows_from_tallies` makes a
    :class:`~reqfulfill.metrics.MetricsRow` of.

    ``assign`` and ``fulfil`` are histograms: ``(centi-hours, how many)`` pairs in
    ascending order (a tuple, or a :class:`Histogram` equal to it). ``rated`` and
    ``rating_sum`` count closed requests with a rating;
    ``surveyed`` the closed ones whose requester was asked, ``answered`` those of them
    with a rating. ``from_stock``, ``from_supplier`` and ``from_mixed`` count the
    fulfilled requests by :func:`source_of`; ``fulfil_stock`` and ``fulfil_supplier``
    are the time-to-fulfil histograms of those all from stock and all from a supplier.
    """

    key: str | None
    count: int
    with_sla: int
    sla_met: int
    escalations: int
    rated: int
    rating_sum: int
    surveyed: int
    answered: int
    assign: Pairs = ()
    fulfil: Pairs = ()
    from_stock: int = 0
    from_supplier: int = 0
    from_mixed: int = 0
    fulfil_stock: Pairs = ()
    fulfil_supplier: Pairs = ()


def tally_rows(
    counters: Iterable[Sequence[object]],
    assign: Iterable[Sequence[object]],
    fulfil: Iterable[Sequence[object]],
) -> list[MetricsTally]:
    """Tallies from the rows of a SQL store's three metric queries: ``counters``
    (key, count, with_sla, sla_met, escalations, rated, rating_sum, surveyed,
    answered), ``assign`` (key, centi-hours, how many) and ``fulfil`` (key, source,
    centi-hours, how many: the time-to-fulfil histogram split by :func:`source_of`,
    which also gives the counts per source, a source being set only when fulfilled)."""
    # key -> "assign", "fulfil", "fulfil:<source>" -> centi-hours -> how many
    histograms: dict[str | None, dict[str, dict[int, int]]] = {}
    for key, value, count in assign:
        _add(histograms, _key(key), "assign", value, count)
    for key, source, value, count in fulfil:
        _add(histograms, _key(key), "fulfil", value, count)
        if source is not None:
            _add(histograms, _key(key), f"fulfil:{source}", value, count)
    tallies = []
    for row in counters:
        key = _key(row[0])
        n = [sql_int(v) for v in row[1:9]]
        entry = histograms.get(key, {})
        tallies.append(
            MetricsTally(
                key,
                count=n[0],
                with_sla=n[1],
                sla_met=n[2],
                escalations=n[3],
                rated=n[4],
                rating_sum=n[5],
                surveyed=n[6],
                answered=n[7],
                assign=_sorted(entry.get("assign")),
                fulfil=_sorted(entry.get("fulfil")),
                from_stock=sum(entry.get("fulfil:stock", {}).values()),
                from_supplier=sum(entry.get("fulfil:supplier", {}).values()),
                from_mixed=sum(entry.get("fulfil:mixed", {}).values()),
                fulfil_stock=_sorted(entry.get("fulfil:stock")),
                fulfil_supplier=_sorted(entry.get("fulfil:supplier")),
            )
        )
    return tallies


def _add(
    histograms: dict[str | None, dict[str, dict[int, int]]],
    key: str | None,
    name: str,
    value: object,
    count: object,
) -> None:
    counts = histograms.setdefault(key, {}).setdefault(name, {})
    v = sql_int(value)
    counts[v] = counts.get(v, 0) + sql_int(count)


def _sorted(counts: dict[int, int] | None) -> tuple[tuple[int, int], ...]:
    return () if counts is None else tuple(sorted(counts.items()))


def _key(value: object) -> str | None:
    return None if value is None else str(value)


def sql_int(value: object) -> int:
    """An integer SQL column or sum as an int: int (SQLite), Decimal or int
    (PostgreSQL), 0 for None (an empty sum or a NULL)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(str(value))


def merge_facts(old: MetricFacts | None, new: MetricFacts) -> MetricFacts:
    """A request's facts after an append's ``new`` ones (see :class:`MetricFacts`): what
    the SQL stores' upsert does."""
    if old is None:
        return new
    if (
        (old.assign_ch is None or old.assign_ch == new.assign_ch)
        and not old.escalations
        and (new.surveyed is not None or old.surveyed is None)
    ):
        return new  # what the merge would make: no copy
    return MetricFacts(  # by position, in field order (memory:// merges per append)
        old.assign_ch if old.assign_ch is not None else new.assign_ch,
        new.fulfil_ch,
        new.sla_met,
        new.rating,
        old.escalations + new.escalations,
        new.surveyed if new.surveyed is not None else old.surveyed,
        new.source,
    )


def tally(rows: Iterable[tuple[str | None, bool, MetricFacts]]) -> list[MetricsTally]:
    """Tallies of ``(key, closed, facts)`` rows, per key (what the SQL stores'
    queries compute, for the memory store)."""
    sums: dict[str | None, list[int]] = {}
    assign: dict[tuple[str | None, int], int] = {}
    fulfil: dict[tuple[str | None, str | None, int], int] = {}
    for key, closed, f in rows:
        n = sums.setdefault(key, [0] * 8)
        rated = closed and f.rating is not None
        asked = closed and f.surveyed is True
        n[0] += 1
        n[1] += f.sla_met is not None
        n[2] += f.sla_met is True
        n[3] += f.escalations
        n[4] += rated
        n[5] += f.rating if rated and f.rating is not None else 0
        n[6] += asked
        n[7] += asked and f.rating is not None
        if f.assign_ch is not None:
            assign[key, f.assign_ch] = assign.get((key, f.assign_ch), 0) + 1
        if f.fulfil_ch is not None:
            at = (key, f.source, f.fulfil_ch)
            fulfil[at] = fulfil.get(at, 0) + 1
    return tally_rows(
        ([key, *n] for key, n in sums.items()),
        ((key, v, c) for (key, v), c in assign.items()),
        ((key, source, v, c) for (key, source, v), c in fulfil.items()),
    )
