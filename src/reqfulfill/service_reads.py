"""The read-side methods of :class:`~reqfulfill.service.FulfillmentService` that
answer from the store's summary rows: queues and metrics.

They live apart from the write path in :mod:`reqfulfill.service`; a new query is one
method here, on the :class:`~reqfulfill.stores.Store` protocol's queries.
"""

from __future__ import annotations

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
        escalations, CSAT (mean rating), the survey response rate, and where the items
        came from: the share of fulfilled requests served from stock and from a
        supplier, and the median time to fulfil of each.
        """
        if by not in ("item", "group", "agent"):
            raise ValidationError.single("by", by, "group metrics by 'item', 'group' or 'agent'")
        if since is not None:
            check_time(since, "since")
        if until is not None:
            check_time(until, "until")
        facts = []
        for row in self.store.query():
            if since is not None and row.created_at < since:
                continue
            if until is not None and row.created_at >= until:
                continue
            history = self.store.load(row.request_id)
            facts.append(request_facts(lifecycle.replay(history), history))
        return metrics_rows(facts, cast(GroupBy, by))
