"""The store contract's checks of ``pending_approvals``: the index of pending approvers
written with every summary (a mixin :class:`~reqfulfill.testing.contracts.StoreContract`
inherits)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.stores import MetricFacts, Store
from reqfulfill.testing.samples import T0, new_id, sample_summary, waiting_stream

__all__ = ["ApprovalIndexContract"]


class ApprovalIndexContract:
    """``Store.pending_approvals``: who each request waits for, the longest waiting first."""

    def test_pending_approvals_follow_the_summaries(self, store: Store) -> None:
        first, second, other = new_id("A"), new_id("A"), new_id("A")
        waiting = sample_summary(first, state="awaiting_approval", approvers=("max", "fay"))
        store.append(first, waiting_stream(first, 1), 0, summary=waiting)
        later = attrs.evolve(
            sample_summary(second, state="awaiting_approval", approvers=("max",)),
            updated_at=T0 + timedelta(minutes=5),
        )
        store.append(second, waiting_stream(second, 1), 0, summary=later)
        store.append(other, waiting_stream(other, 1), 0, summary=sample_summary(other))
        assert [s.request_id for s in store.pending_approvals("max")] == [first, second]
        assert [s.request_id for s in store.pending_approvals("max", limit=1)] == [first]
        assert [s.request_id for s in store.pending_approvals("fay")] == [first]
        assert store.pending_approvals("nobody") == []
        found = store.pending_approvals("fay")[0]
        assert (found.state, found.requester) == ("awaiting_approval", "erin.user")
        # max approved the first request (he waits no more), sue joined it later: max keeps
        # the second one, and fay keeps the time she joined
        moved = attrs.evolve(
            waiting, approvers=("fay", "sue"), updated_at=T0 + timedelta(minutes=9)
        )
        store.append(first, waiting_stream(first, 1, start=2), 1, summary=moved)
        assert [s.request_id for s in store.pending_approvals("max")] == [second]
        assert [s.request_id for s in store.pending_approvals("sue")] == [first]
        done = attrs.evolve(later, state="in_fulfillment", approvers=())
        store.append(second, waiting_stream(second, 1, start=2), 1, summary=done)
        assert store.pending_approvals("max") == []

    def test_queries_give_every_summary_back_as_listed(self, store: Store) -> None:
        # what only the write path uses (orders, facts, approvers, messages) is kept in
        # indexes of its own: a page is the same whichever store answers it
        request_id = new_id("A")
        full = sample_summary(
            request_id,
            state="awaiting_approval",
            approvers=("max", "fay"),
            orders=(("acme", f"PO-{request_id}"),),
            messages=(f"<{request_id}@mail.example>",),
            facts=MetricFacts(assign_ch=25, escalations=1),
        )
        store.append(request_id, waiting_stream(request_id, 1), 0, summary=full)
        listed = full.listed()
        assert (listed.orders, listed.approvers, listed.messages) == ((), (), ())
        assert listed.facts == MetricFacts()
        assert store.pending_approvals("fay") == [listed]
        assert [s for s in store.query() if s.request_id == request_id] == [listed]
        assert store.find_order("acme", f"PO-{request_id}") == request_id

    def test_a_refused_append_leaves_the_approval_index(self, store: Store) -> None:
        request_id = new_id("A")
        waiting = sample_summary(request_id, state="awaiting_approval", approvers=("max",))
        store.append(request_id, waiting_stream(request_id, 1), 0, summary=waiting)
        stale = attrs.evolve(waiting, approvers=("sue",))
        with pytest.raises(ConcurrencyError):
            store.append(request_id, waiting_stream(request_id, 1, start=2), 0, summary=stale)
        assert [s.request_id for s in store.pending_approvals("max")] == [request_id]
        assert store.pending_approvals("sue") == []
