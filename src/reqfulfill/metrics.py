"""Fulfillment metrics from request histories: where to improve, by item, group or agent.

Computed from the events, so they need no extra bookkeeping and agree with the
audit trail. Times to fulfil are business time (the SLA calendar's, excluding
paused time) when an SLA applies, else elapsed time.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from reqfulfill.model import events as ev
from reqfulfill.model.enums import RequestState
from reqfulfill.model.request import ServiceRequest
from reqfulfill.stores._facts import Histogram, MetricsTally, source_of

__all__ = [
    "MetricsRow",
    "RequestFacts",
    "fulfilled_from",
    "metrics_rows",
    "percentile",
    "request_facts",
    "rows_from_tallies",
]

GroupBy = Literal["item", "group", "agent"]


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (``p`` in 0..100) of ``values``; None when empty.

    >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)
    9
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@attrs.frozen
class RequestFacts:
    """What the metrics need of one request, read from its history."""

    request: ServiceRequest
    time_to_assign: timedelta | None
    time_to_fulfil: timedelta | None
    escalations: int
    surveyed: bool
    source: str | None = None


def fulfilled_from(request: ServiceRequest) -> str | None:
    """Where a fulfilled request's item came from, by its done ordering tasks:
    ``"stock"`` when all were ``stock_or_order`` tasks done from stock,
    ``"supplier"`` when all were supplier orders delivered (a ``supplier_order`` task,
    or a ``stock_or_order`` task with nothing in stock), ``"mixed"`` when the request
    had some of each; None for a request not fulfilled or with neither (a password
    reset). The store keeps the same with each request's facts."""
    return source_of(request)


def request_facts(request: ServiceRequest, history: Iterable[ev.Event]) -> RequestFacts:
    """The metric facts of one request."""
    assigned_at: datetime | None = None
    escalations = 0
    surveyed = False
    for event in history:
        if assigned_at is None and (
            isinstance(event, ev.RequestClaimed)
            or (isinstance(event, ev.RequestAssigned) and event.agent is not None)
        ):
            assigned_at = event.at
        elif isinstance(event, ev.RequestEscalated):
            escalations += 1
        elif isinstance(event, ev.RequestClosed):
            surveyed = event.survey
    to_fulfil: timedelta | None = None
    if request.fulfilled_at is not None:
        if request.sla.stopped and request.sla.target is not None:
            to_fulfil = request.sla.used
        else:
            to_fulfil = request.fulfilled_at - request.created_at
    return RequestFacts(
        request=request,
        time_to_assign=assigned_at - request.created_at if assigned_at else None,
        time_to_fulfil=to_fulfil,
        escalations=escalations,
        surveyed=surveyed,
        source=fulfilled_from(request),
    )


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600, 2)


@attrs.frozen
class MetricsRow:
    """Metrics of one item, group or agent (``key``). Durations are in hours."""

    key: str
    count: int
    fulfilled: int
    assign_p50_h: float | None
    fulfil_p50_h: float | None
    fulfil_p90_h: float | None
    sla_met_pct: float | None
    escalations: int
    csat: float | None
    response_rate: float | None
    from_stock_pct: float | None = None
    """Of the fulfilled requests whose items came from stock, a supplier or both
    (``"mixed"``, see :func:`fulfilled_from`), the share all from stock (%)."""
    from_supplier_pct: float | None = None
    """... and the share all from a supplier (%); the mixed share is what the two
    leave of 100."""
    fulfil_p50_stock_h: float | None = None
    """The median time to fulfil of the requests served all from stock."""
    fulfil_p50_supplier_h: float | None = None
    """The median time to fulfil of the requests served all by a supplier."""

    def to_dict(self) -> dict[str, Any]:
        """The row as a plain mapping (for JSON)."""
        return attrs.asdict(self)


def metrics_rows(facts: Iterable[RequestFacts], by: GroupBy) -> list[MetricsRow]:
    """One row per key, sorted by key; requests without one count under ``(none)``."""
    buckets: dict[str, list[RequestFacts]] = {}
    for f in facts:
        r = f.request
        key = {"item": r.item, "group": r.group, "agent": r.agent}[by]
        buckets.setdefault(key or "(none)", []).append(f)
    return [_row(key, rows) for key, rows in sorted(buckets.items())]


def _row(key: str, facts: Sequence[RequestFacts]) -> MetricsRow:
    assign = [f.time_to_assign.total_seconds() for f in facts if f.time_to_assign is not None]
    fulfil = [f.time_to_fulfil.total_seconds() for f in facts if f.time_to_fulfil is not None]
    with_sla = [f for f in facts if f.request.sla.stopped and f.request.sla.target is not None]
    met = [f for f in with_sla if not f.request.sla.breached]
    closed = [f for f in facts if f.request.state is RequestState.CLOSED]
    surveyed = [f for f in closed if f.surveyed]
    ratings = [f.request.feedback.rating for f in closed if f.request.feedback is not None]
    answered = [f for f in surveyed if f.request.feedback is not None]
    sourced = [f for f in facts if f.source is not None]

    def share(source: str) -> float | None:
        if not sourced:
            return None
        return round(100 * sum(f.source == source for f in sourced) / len(sourced), 1)

    def p50_from(source: str) -> float | None:
        times = [
            f.time_to_fulfil.total_seconds()
            for f in sourced
            if f.source == source and f.time_to_fulfil is not None
        ]
        return _hours(percentile(times, 50))

    return MetricsRow(
        key=key,
        count=len(facts),
        fulfilled=len(fulfil),
        assign_p50_h=_hours(percentile(assign, 50)),
        fulfil_p50_h=_hours(percentile(fulfil, 50)),
        fulfil_p90_h=_hours(percentile(fulfil, 90)),
        sla_met_pct=round(100 * len(met) / len(with_sla), 1) if with_sla else None,
        escalations=sum(f.escalations for f in facts),
        csat=round(sum(ratings) / len(ratings), 2) if ratings else None,
        response_rate=round(len(answered) / len(surveyed), 2) if surveyed else None,
        from_stock_pct=share("stock"),
        from_supplier_pct=share("supplier"),
        fulfil_p50_stock_h=p50_from("stock"),
        fulfil_p50_supplier_h=p50_from("supplier"),
    )


def _ranked(histogram: Sequence[tuple[int, int]], total: int, p: float) -> float | None:
    """The nearest-rank percentile (as :func:`percentile`) of a histogram of
    centi-hours ``(value, how many)`` in ascending order, in hours."""
    if total == 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    if isinstance(histogram, Histogram):  # the rollup's: a bisection of the running sums
        index = bisect_left(histogram.running, rank)
        if index == len(histogram.values):
            raise AssertionError("a histogram holds fewer values than its total")
        return histogram.values[index] / 100
    seen = 0
    for value, count in histogram:
        seen += count
        if seen >= rank:
            return value / 100
    raise AssertionError("a histogram holds fewer values than its total")  # pragma: no cover


def _total(histogram: Sequence[tuple[int, int]]) -> int:
    if isinstance(histogram, Histogram):
        return histogram.total()
    return sum(c for _, c in histogram)


def rows_from_tallies(tallies: Iterable[MetricsTally]) -> list[MetricsRow]:
    """The rows of :func:`metrics_rows` from a store's tallies, sorted by key (requests
    without one under ``(none)``): the same figures, from sums and histograms instead
    of every history.

    The histograms hold times in hundredths of an hour, the precision a row shows;
    rounding keeps order, so their nearest-rank percentiles are the rounded
    percentiles of the exact times.
    """
    merged: dict[str, list[MetricsTally]] = {}
    for t in tallies:
        merged.setdefault(t.key or "(none)", []).append(t)
    rows = []
    for key, parts in sorted(merged.items()):
        assign = _merged([p.assign for p in parts])
        fulfil = _merged([p.fulfil for p in parts])
        fulfilled = _total(fulfil)
        stock = sum(p.from_stock for p in parts)
        supplier = sum(p.from_supplier for p in parts)
        sourced = stock + supplier + sum(p.from_mixed for p in parts)
        from_stock = _merged([p.fulfil_stock for p in parts])
        from_supplier = _merged([p.fulfil_supplier for p in parts])
        with_sla = sum(p.with_sla for p in parts)
        rated = sum(p.rated for p in parts)
        surveyed = sum(p.surveyed for p in parts)
        rows.append(
            MetricsRow(
                key=key,
                count=sum(p.count for p in parts),
                fulfilled=fulfilled,
                assign_p50_h=_ranked(assign, _total(assign), 50),
                fulfil_p50_h=_ranked(fulfil, fulfilled, 50),
                fulfil_p90_h=_ranked(fulfil, fulfilled, 90),
                sla_met_pct=(
                    round(100 * sum(p.sla_met for p in parts) / with_sla, 1) if with_sla else None
                ),
                escalations=sum(p.escalations for p in parts),
                csat=round(sum(p.rating_sum for p in parts) / rated, 2) if rated else None,
                response_rate=(
                    round(sum(p.answered for p in parts) / surveyed, 2) if surveyed else None
                ),
                from_stock_pct=round(100 * stock / sourced, 1) if sourced else None,
                from_supplier_pct=round(100 * supplier / sourced, 1) if sourced else None,
                fulfil_p50_stock_h=_ranked(from_stock, stock, 50),
                fulfil_p50_supplier_h=_ranked(from_supplier, supplier, 50),
            )
        )
    return rows


def _merged(histograms: Sequence[Sequence[tuple[int, int]]]) -> Sequence[tuple[int, int]]:
    if len(histograms) == 1:
        return histograms[0]
    counts: dict[int, int] = {}
    for histogram in histograms:
        for value, count in histogram:
            counts[value] = counts.get(value, 0) + count
    return sorted(counts.items())
