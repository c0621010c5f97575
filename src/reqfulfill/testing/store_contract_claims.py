"""The store contract's checks of ``append_and_claim`` (an outcome recorded, its effects
completed and the request's due effects claimed, in one transaction) and of
``release_effects`` (:class:`ClaimContract`, a base of
:class:`~reqfulfill.testing.contracts.StoreContract`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.stores import Store
from reqfulfill.testing.samples import (
    T0,
    new_id,
    notification_event,
    sample_summary,
    summary_fields,
    waiting_event,
)

__all__ = ["ClaimContract"]

LEASE = timedelta(minutes=5)


class ClaimContract:
    """``Store.append_and_claim`` and ``Store.release_effects``: checked on every backend
    through ``StoreContract``."""

    def test_append_and_claim_records_completes_and_claims_the_requests_due_effects(
        self, store: Store
    ) -> None:
        request_id, other = new_id(), new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2)], 0)
        (first,) = store.claim_effects(T0, worker="w1", lease=LEASE, limit=1)
        assert first.effect_id == f"{request_id}/1"
        store.append(other, [notification_event(other, 1)], 0)
        # the outcome of the first, and a new effect the outcome asks for
        outcome = [waiting_event(request_id, 3, "outcome"), notification_event(request_id, 4)]
        summary = sample_summary(request_id, state="waiting")
        claimed = store.append_and_claim(
            request_id,
            outcome,
            2,
            effect_ids=[first.effect_id],
            worker="w1",
            now=T0,
            lease=LEASE,
            summary=summary,
            timers={"close": T0 + timedelta(days=3)},
        )
        # the request's due effects, in stream order, the new one included; not the
        # other request's
        assert [c.effect_id for c in claimed] == [f"{request_id}/2", f"{request_id}/4"]
        assert {(c.request_id, c.worker, c.lease_until) for c in claimed} == {
            (request_id, "w1", T0 + LEASE)
        }
        assert [c.kind for c in claimed] == ["NotificationRequested"] * 2
        assert store.load(request_id)[2:] == outcome
        assert [
            summary_fields(s) for s in store.query(state="waiting") if s.request_id == request_id
        ] == [summary_fields(summary)]
        assert (request_id, "close", T0 + timedelta(days=3)) in {
            (t.request_id, t.key, t.due) for t in store.due_timers(T0 + timedelta(days=3))
        }
        # leased to w1: nobody else gets them while the lease lasts; the completed one
        # is gone for good
        assert [c.effect_id for c in store.claim_effects(T0, worker="w2", lease=LEASE)] == [
            f"{other}/1"
        ]
        later = store.claim_effects(T0 + LEASE, worker="w2", lease=LEASE)
        assert [c.effect_id for c in later if c.request_id == request_id] == [
            f"{request_id}/2",
            f"{request_id}/4",
        ]

    def test_append_and_claim_with_a_stale_version_writes_completes_and_claims_nothing(
        self, store: Store
    ) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2)], 0)
        (first,) = store.claim_effects(T0, worker="w1", lease=LEASE, limit=1)
        with pytest.raises(ConcurrencyError):
            store.append_and_claim(
                request_id,
                [notification_event(request_id, 2)],
                1,
                effect_ids=[first.effect_id],
                worker="w1",
                now=T0,
                lease=LEASE,
                timers={"close": T0},
            )
        assert len(store.load(request_id)) == 2
        assert store.due_timers(T0) == []
        # the second is still unclaimed; the first still w1's until its lease lapses
        assert [c.effect_id for c in store.claim_effects(T0, worker="w2", lease=LEASE)] == [
            f"{request_id}/2"
        ]
        later = store.claim_effects(T0 + LEASE, worker="w3", lease=LEASE)
        assert [c.effect_id for c in later] == [f"{request_id}/1", f"{request_id}/2"]

    def test_append_and_claim_without_events_completes_and_claims(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2)], 0)
        (first,) = store.claim_effects(T0, worker="w1", lease=LEASE, limit=1)
        claimed = store.append_and_claim(
            request_id, [], 2, effect_ids=[first.effect_id], worker="w1", now=T0, lease=LEASE
        )
        assert [c.effect_id for c in claimed] == [f"{request_id}/2"]
        assert len(store.load(request_id)) == 2
        assert store.claim_effects(T0 + LEASE, worker="w2", lease=LEASE)[0].effect_id == (
            f"{request_id}/2"
        )

    def test_append_and_claim_leaves_effects_not_due_or_leased_to_another_worker(
        self, store: Store
    ) -> None:
        request_id = new_id()
        later = T0 + timedelta(hours=1)
        store.append(
            request_id,
            [notification_event(request_id, 1), notification_event(request_id, 2, at=later)],
            0,
        )
        assert len(store.claim_effects(T0, worker="other", lease=LEASE)) == 1
        claimed = store.append_and_claim(
            request_id,
            [waiting_event(request_id, 3, "x")],
            2,
            effect_ids=[],
            worker="w1",
            now=T0,
            lease=LEASE,
        )
        assert claimed == []  # /1 is the other worker's, /2 is due in an hour
        claimed = store.append_and_claim(
            request_id, [], 3, effect_ids=[], worker="w1", now=later, lease=LEASE
        )
        # an hour on: the other worker's lease lapsed, and /2 is due
        assert [c.effect_id for c in claimed] == [f"{request_id}/1", f"{request_id}/2"]

    def test_release_effects_gives_claimed_effects_back_uncounted(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2, 3)], 0)
        claimed = store.claim_effects(T0, worker="w1", lease=LEASE)
        assert len(claimed) == 3
        # another worker's lease on /3 is not w1's to give back
        assert store.claim_effects(T0 + LEASE, worker="w2", lease=LEASE, limit=1)[0].effect_id == (
            f"{request_id}/1"
        )
        store.release_effects([f"{request_id}/1", f"{request_id}/2"], worker="w1")
        # /1 stays w2's; /2 is due again at once, no attempt counted; /3 is w1's (lapsed)
        again = store.claim_effects(T0 + LEASE, worker="w3", lease=LEASE)
        assert [(c.effect_id, c.attempts) for c in again] == [
            (f"{request_id}/2", 0),
            (f"{request_id}/3", 0),
        ]
        store.release_effects([f"{request_id}/2"], worker="w3")
        (back,) = store.claim_effects(T0 + LEASE, worker="w4", lease=LEASE)
        assert (back.effect_id, back.worker, back.last_error) == (f"{request_id}/2", "w4", None)
