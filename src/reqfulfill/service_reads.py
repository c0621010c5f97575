"""The read-side methods of :class:`~reqfulfill.service.FulfillmentService` that
answer from the store's summary rows: queues and metrics.

They live apart from the write path in :mod:`reqfulfill.service`; a new query is one
method here, on the :class:`~reqfulfill.stores.Store` protocol's queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

from reqfulfill import lifecycle
from reqfulfill.metrics import GroupBy, MetricsRow, metrics_rows, request_facts
from reqfulfill.model.enums import RequestState
from reqfulfill.model.errors import ValidationError
from reqfulfill.model.request import ServiceRequest
from reqfulfill.serialization.arguments import check_count, check_enum, check_id, check_time
from reqfulfill.stores import RequestSummary, Store

__all__ = ["RequestReads"]


class RequestReads:
    """Queries over many requests (a base class of
    :class:`~reqfulfill.service.FulfillmentService`)."""

    store: Store

    def get(self, request_id: str) -> ServiceRequest:
        """One request's current state (implemented by the service)."""
        raise NotImplementedError

    def queue(
        self,
        group: str | None = None,
        state: RequestState | str | None = None,
        *,
        agent: str | None = None,
        limit: int | None = None,
    ) -> list[ServiceRequest]:
        """Requests by group, state and/or agent, oldest first.

        With no state, every request that still needs someone: the open ones and
        the fulfilled ones waiting to be closed.
        """
        for name, value in (("group", group), ("agent", agent)):
            if value is not None:
                check_id(value, name)
        if limit is not None:
            check_count(limit, "limit")
        chosen = check_enum(RequestState, state, "state")
        if chosen is None:
            wanted = [s.value for s in RequestState if s.open or s is RequestState.FULFILLED]
        else:
            wanted = [chosen.value]
        rows: list[RequestSummary] = []
        for value in wanted:
            rows.extend(self.store.query(group=group, state=value, agent=agent))
        rows.sort(key=lambda r: (r.created_at, r.request_id))
        if limit is not None:
            rows = rows[:limit]
        return [self.get(r.request_id) for r in rows]

    def metrics(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        by: str = "item",
    ) -> list[MetricsRow]:
        """Fulfillment metrics of the requests created in ``[since, until)``, per
        ``"item"``, ``"group"`` or ``"agent"``.

        Each :class:`~reqfulfill.metrics.MetricsRow` has the count, time to assign
        (p50), time to fulfil in business time (p50, p90), SLA attainment %,
        escalations, CSAT (mean rating) and the survey response rate.
        """
        return self.metrics_by((by,), since=since, until=until)[by]

    def metrics_by(
        self,
        groupings: Sequence[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, list[MetricsRow]]:
        """:meth:`metrics` for several groupings at once (a list of ``"item"``,
        ``"group"``, ``"agent"``), each history read once.

        ``progress(done, total)`` is called after each request is read (``reqfulfill
        report`` draws its progress line with it).
        """
        if isinstance(groupings, str | bytes) or not isinstance(groupings, list | tuple):
            raise ValidationError.single(
                "groupings", groupings, "expected a list of 'item', 'group' or 'agent'"
            )
        wanted: list[str] = []
        for index, by in enumerate(groupings):
            if not isinstance(by, str) or by not in ("item", "group", "agent"):
                raise ValidationError.single(
                    f"groupings[{index}]" if len(groupings) > 1 else "by",
                    by,
                    "group metrics by 'item', 'group' or 'agent'",
                )
            wanted.append(by)
        if progress is not None and not callable(progress):
            raise ValidationError.single("progress", progress, "expected a function or None")
        if since is not None:
            check_time(since, "since")
        if until is not None:
            check_time(until, "until")
        rows = [
            row
            for row in self.store.query()
            if (since is None or row.created_at >= since)
            and (until is None or row.created_at < until)
        ]
        facts = []
        for done, row in enumerate(rows, start=1):
            history = self.store.load(row.request_id)
            facts.append(request_facts(lifecycle.replay(history), history))
            if progress is not None:
                progress(done, len(rows))
        return {by: metrics_rows(facts, cast(GroupBy, by)) for by in wanted}
