"""The read-side methods of :class:`~reqfulfill.service.FulfillmentService` that
answer from the store's summary rows: the portal's queries, queues and metrics.

They live apart from the write path in :mod:`reqfulfill.service`; a new query is one
method here, on the :class:`~reqfulfill.stores.Store` protocol's queries. Pages are
keyset pages (see :mod:`reqfulfill.paging`); metrics add up the facts rows the store
keeps with every append (see :mod:`reqfulfill.stores._facts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from reqfulfill import lifecycle
from reqfulfill.metrics import MetricsRow, rows_from_tallies
from reqfulfill.model.enums import RequestState
from reqfulfill.model.errors import ValidationError
from reqfulfill.model.request import ServiceRequest
from reqfulfill.paging import DEFAULT_LIMIT, Page, check_limit, fetch_page
from reqfulfill.serialization.arguments import check_enum, check_id, check_time
from reqfulfill.stores import RequestSummary, Store
from reqfulfill.stores._base import to_micros
from reqfulfill.stores._facts import METRIC_DIMENSIONS, facts_of

__all__ = ["RequestReads", "rebuild_facts"]

# the states a queue shows by default: every request that still needs someone
_QUEUE_STATES = tuple(s.value for s in RequestState if s.open or s is RequestState.FULFILLED)
_ALL_STATES = tuple(s.value for s in RequestState)


class RequestReads:
    """Queries over many requests (a base class of
    :class:`~reqfulfill.service.FulfillmentService`)."""

    store: Store

    def get_many(self, request_ids: Sequence[str]) -> list[ServiceRequest]:
        """Several requests' current states in one store read (implemented by the
        service)."""
        raise NotImplementedError

    def requests(
        self,
        requester: str | None = None,
        state: RequestState | str | None = None,
        group: str | None = None,
        agent: str | None = None,
        item: str | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[RequestSummary]:
        """One page of the requests matching every given filter, oldest first (by
        creation, then id), created in ``[opened_from, opened_to)``.

        Pass the page's ``next_cursor`` as ``cursor`` for the next page, with the same
        filters. ``limit`` is 1 to 10,000; a cursor not made for this query is a
        ``ValidationError``. Each page is an index range scan for the combinations
        :doc:`/queries` recommends.
        """
        filters, chosen, opened, limit = _checked(
            requester, state, group, agent, item, opened_from, opened_to, limit
        )
        if chosen is not None:
            states: tuple[str, ...] = (chosen.value,)
        elif requester is None and (group or agent or item):
            # one range scan per state on the (group|agent|item, state, created) index,
            # merged in one statement
            states = _ALL_STATES
        else:
            states = ()  # any state
        return fetch_page(
            self.store,
            filters,
            states=states,
            opened=opened,
            limit=limit,
            cursor=cursor,
            fingerprint=_fingerprint("requests", filters, chosen, opened),
        )

    def requests_of(
        self,
        requester_id: str,
        *,
        state: RequestState | str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[RequestSummary]:
        """The portal's "my requests": one page of a requester's requests, oldest first
        (:meth:`requests` with ``requester=requester_id``)."""
        check_id(requester_id, "requester_id")
        return self.requests(requester=requester_id, state=state, limit=limit, cursor=cursor)

    def queue(
        self,
        group: str | None = None,
        state: RequestState | str | None = None,
        *,
        agent: str | None = None,
        item: str | None = None,
        requester: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ServiceRequest]:
        """One page of the requests by group, state, agent, item and/or requester,
        oldest first, as full requests.

        With no state, every request that still needs someone: the open ones and
        the fulfilled ones waiting to be closed. Pages like :meth:`requests`
        (``limit`` 1 to 10,000, 50 by default; ``cursor`` from the previous page's
        ``next_cursor``). The page's requests are read with one
        :meth:`~reqfulfill.stores.Store.load_many`.
        """
        filters, chosen, opened, limit = _checked(
            requester, state, group, agent, item, None, None, limit
        )
        page = fetch_page(
            self.store,
            filters,
            states=_QUEUE_STATES if chosen is None else (chosen.value,),
            opened=opened,
            limit=limit,
            cursor=cursor,
            fingerprint=_fingerprint("queue", filters, chosen, opened),
        )
        # the page's requests in one store read (one round trip), not one each
        return Page(tuple(self.get_many([r.request_id for r in page])), page.next_cursor)

    def pending_approvals(self, actor: str, *, limit: int | None = None) -> list[RequestSummary]:
        """The requests waiting for ``actor``'s decision, the longest waiting first: the
        summaries of the requests whose pending approval stage (or, without a policy,
        whose approvers) names ``actor`` and who has not approved yet.

        Answered from the store's index of pending approvers, written with every append:
        no request is loaded. ``limit`` caps the number of rows.
        """
        check_id(actor, "actor")
        if limit is not None:
            check_limit(limit)
        return self.store.pending_approvals(actor, limit=limit)

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
        escalations, CSAT (mean rating), the survey response rate and where the items
        came from (the shares all from stock and all from a supplier, of the requests
        served from stock, a supplier or both, and the median time to fulfil of each).
        They add up the facts rows the store keeps with every append (one per
        request), never the histories: the same rows
        :func:`reqfulfill.metrics.metrics_rows` gives over the replayed histories. The
        facts of requests stored before this release are rebuilt first (once:
        ``reqfulfill db upgrade`` does it ahead).

        All-time metrics (no ``since`` and ``until``) on a SQL store read its metric
        rollup, one row per item, group or agent: so a call may *write*, catching the
        rollup up with the requests appended since the last call (in a short write
        transaction; nothing to write when nothing changed, and a read-only SQLite
        store with changes not rolled up, or without a rollup, answers from the facts
        rows instead). A window reads its facts rows.
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
        ``"group"``, ``"agent"``).

        ``progress(done, total)`` is called after each grouping is added up and, the
        first time, after each request whose facts are rebuilt (``reqfulfill report``
        draws its progress line with it).
        """
        if isinstance(groupings, str | bytes) or not isinstance(groupings, list | tuple):
            raise ValidationError.single(
                "groupings", groupings, "expected a list of 'item', 'group' or 'agent'"
            )
        wanted: list[str] = []
        for index, by in enumerate(groupings):
            if not isinstance(by, str) or by not in METRIC_DIMENSIONS:
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
        rebuild_facts(self.store)
        out: dict[str, list[MetricsRow]] = {}
        for done, by in enumerate(wanted, start=1):
            out[by] = rows_from_tallies(self.store.metric_tallies(by, since=since, until=until))
            if progress is not None:
                progress(done, len(wanted))
        return out


def rebuild_facts(store: Store, *, batch: int = 500) -> int:
    """Build the metric facts of the requests stored before the store kept them (a
    schema migration marks them) by replaying their histories; return how many.

    Safe beside writers: a request appended to meanwhile is replayed again.
    """
    done = 0
    while ids := store.facts_to_rebuild(batch):
        for request_id in ids:
            while True:
                history = store.load(request_id)
                facts = facts_of(lifecycle.replay(history), history)
                if store.rebuild_facts(request_id, len(history), facts):
                    break
            done += 1
    return done


def _checked(
    requester: object,
    state: object,
    group: object,
    agent: object,
    item: object,
    opened_from: object,
    opened_to: object,
    limit: object,
) -> tuple[
    dict[str, str | None], RequestState | None, tuple[datetime | None, datetime | None], int
]:
    """Every argument of a query checked (a ``ValidationError`` naming the first bad
    one): the column filters, the state, the window and the limit."""
    filters: dict[str, str | None] = {}
    for name, value in (
        ("requester", requester),
        ("group", group),
        ("agent", agent),
        ("item", item),
    ):
        filters[name] = None if value is None else check_id(value, name)
    chosen = check_enum(RequestState, state, "state")
    window = (
        None if opened_from is None else check_time(opened_from, "opened_from"),
        None if opened_to is None else check_time(opened_to, "opened_to"),
    )
    return filters, chosen, window, check_limit(limit)


def _fingerprint(
    kind: str,
    filters: dict[str, str | None],
    state: RequestState | None,
    opened: tuple[datetime | None, datetime | None],
) -> tuple[object, ...]:
    """What a cursor is bound to: the method and every filter."""
    return (
        kind,
        *(filters[name] for name in ("requester", "group", "agent", "item")),
        None if state is None else state.value,
        *(None if at is None else to_micros(at) for at in opened),
    )
