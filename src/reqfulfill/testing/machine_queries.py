"""``QueryInvariants``: what :class:`~reqfulfill.testing.machine.FulfillmentMachine`
checks of the many-request reads after every step (a base class of it).

- ``metrics(by=...)``, added up from the facts rows the store keeps with every
  append, equals the metrics computed the first way: every history replayed and
  :func:`~reqfulfill.metrics.metrics_rows` of their facts, for each dimension, where
  the items came from (stock, supplier, mixed) included;
- paging ``requests()`` and ``queue()`` with small pages and their cursors visits
  every matching request once, in ``(created_at, request_id)`` order.
"""

from __future__ import annotations

from hypothesis.stateful import invariant

from reqfulfill import lifecycle
from reqfulfill.metrics import GroupBy, metrics_rows, request_facts
from reqfulfill.model.enums import RequestState
from reqfulfill.service import FulfillmentService

__all__ = ["QueryInvariants"]

_QUEUED = {s.value for s in RequestState if s.open or s is RequestState.FULFILLED}


class QueryInvariants:
    """Invariants of the queries and metrics (mixed into ``FulfillmentMachine``)."""

    service: FulfillmentService

    @invariant()
    def metrics_from_the_facts_equal_metrics_from_replays(self) -> None:
        """The metrics the store's tallies give are the metrics of the replayed histories."""
        facts = []
        for summary in self.service.store.query():
            history = self.service.store.load(summary.request_id)
            facts.append(request_facts(lifecycle.replay(history), history))
        by: GroupBy
        for by in ("item", "group", "agent"):
            expected = metrics_rows(facts, by)
            got = self.service.metrics(by=by)
            assert got == expected, f"metrics by {by}: {got} != replayed {expected}"

    @invariant()
    def pages_visit_every_request_once_in_order(self) -> None:
        """``requests()`` and ``queue()`` paged two at a time list what one query lists."""
        every = self.service.store.query()
        assert self._walk("requests") == [s.request_id for s in every]
        assert self._walk("queue") == [s.request_id for s in every if s.state in _QUEUED]

    def _walk(self, method: str) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            if method == "requests":
                page = self.service.requests(limit=2, cursor=cursor)
                seen += [s.request_id for s in page]
                cursor = page.next_cursor
            else:
                queue = self.service.queue(limit=2, cursor=cursor)
                seen += [r.id for r in queue]
                cursor = queue.next_cursor
            if cursor is None:
                return seen
