"""The store contract's checks of ``due_effects`` (what a claim would take, read without
claiming), of ``hold_effects``/``release_holds`` (an effect kept from every other worker
with nothing written) and of ``append_and_claim``'s ``require``
(:class:`HoldContract`, a base of :class:`~reqfulfill.testing.contracts.StoreContract`)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.plugins import open_store
from reqfulfill.stores import Store
from reqfulfill.testing.processes import contend_claims, run_in_processes
from reqfulfill.testing.samples import T0, new_id, notification_event, waiting_event

__all__ = ["HoldContract"]

LEASE = timedelta(minutes=5)


def _ids(request_id: str, *numbers: int) -> list[str]:
    return [f"{request_id}/{n}" for n in numbers]


class HoldContract:
    """``Store.due_effects``, ``Store.hold_effects``, ``Store.release_holds`` and the
    ``require`` of ``Store.append_and_claim``: checked on every backend through
    ``StoreContract``."""

    supports_multiprocess: ClassVar[bool]

    def test_due_effects_reads_what_a_claim_would_take_and_claims_nothing(
        self, store: Store
    ) -> None:
        request_id = new_id()
        later = T0 + timedelta(hours=1)
        store.append(
            request_id,
            [
                notification_event(request_id, 1),
                notification_event(request_id, 2),
                notification_event(request_id, 3, at=later),
            ],
            0,
        )
        (leased,) = store.claim_effects(T0, worker="w1", lease=LEASE, limit=1)
        assert leased.effect_id == f"{request_id}/1"
        due = [e for e in store.due_effects(T0) if e.request_id == request_id]
        # /1 is leased, /3 not due yet
        assert [(e.effect_id, e.worker, e.attempts) for e in due] == [(f"{request_id}/2", None, 0)]
        assert [e.effect_id for e in store.due_effects(T0) if e.request_id == request_id] == (
            _ids(request_id, 2)  # read twice: nothing was claimed
        )
        # a lapsed lease is due again, with its worker; ``limit`` caps the read
        due = [e for e in store.due_effects(later, limit=10) if e.request_id == request_id]
        assert [(e.effect_id, e.worker) for e in due] == [
            (f"{request_id}/1", "w1"),
            (f"{request_id}/2", None),
            (f"{request_id}/3", None),
        ]
        assert len(store.due_effects(later, limit=1)) == 1

    def test_append_and_claim_with_require_claims_them_or_writes_nothing(
        self, store: Store
    ) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2)], 0)
        assert len(store.claim_effects(T0, worker="other", lease=LEASE, limit=1)) == 1
        with pytest.raises(ConcurrencyError):
            store.append_and_claim(
                request_id,
                [waiting_event(request_id, 3, "attempt")],
                2,
                effect_ids=[],
                worker="w1",
                now=T0,
                lease=LEASE,
                require=_ids(request_id, 1, 2),  # /1 is the other worker's
            )
        assert len(store.load(request_id)) == 2  # nothing written
        due = [e.effect_id for e in store.due_effects(T0) if e.request_id == request_id]
        assert due == _ids(request_id, 2)  # nor claimed
        claimed = store.append_and_claim(
            request_id,
            [waiting_event(request_id, 3, "attempt")],
            2,
            effect_ids=[],
            worker="w1",
            now=T0,
            lease=LEASE,
            require=_ids(request_id, 2),
        )
        assert [(c.effect_id, c.worker) for c in claimed] == [(f"{request_id}/2", "w1")]
        assert len(store.load(request_id)) == 3

    def test_a_hold_keeps_every_other_worker_off_without_a_write(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2, 3)], 0)
        held = store.hold_effects(_ids(request_id, 1, 2), worker="w1", now=T0)
        assert held == _ids(request_id, 1, 2)
        # nothing written: the entries are as they were, unleased
        due = [e.effect_id for e in store.due_effects(T0) if e.request_id == request_id]
        assert due == _ids(request_id, 3)
        assert store.hold_effects(_ids(request_id, 1, 2, 3), worker="w2", now=T0) == _ids(
            request_id, 3
        )
        store.release_holds(_ids(request_id, 3), worker="w2")
        # claims pass over them, a required one fails
        assert [c.effect_id for c in store.claim_effects(T0, worker="w2", lease=LEASE)] == (
            _ids(request_id, 3)
        )
        with pytest.raises(ConcurrencyError):
            store.append_and_claim(
                request_id,
                [],
                3,
                effect_ids=[],
                worker="w2",
                now=T0,
                lease=LEASE,
                require=_ids(request_id, 1),
            )
        # another worker's release is not w1's
        store.release_holds(_ids(request_id, 1, 2), worker="w2")
        assert store.claim_effects(T0, worker="w2", lease=LEASE) == []
        # the holder completes /1 with its outcome; /2 is given back, and due at once
        store.append_and_complete(
            request_id,
            [waiting_event(request_id, 4, "sent")],
            3,
            effect_ids=_ids(request_id, 1),
            worker="w1",
        )
        store.release_holds(_ids(request_id, 1, 2), worker="w1")
        again = store.claim_effects(T0, worker="w3", lease=LEASE)
        assert [(c.effect_id, c.attempts) for c in again] == [(f"{request_id}/2", 0)]

    def test_only_due_unleased_entries_are_held(self, store: Store) -> None:
        request_id = new_id()
        later = T0 + timedelta(hours=1)
        store.append(
            request_id,
            [notification_event(request_id, 1), notification_event(request_id, 2, at=later)],
            0,
        )
        assert len(store.claim_effects(T0, worker="other", lease=LEASE)) == 1
        # /1 is leased (and stays so after its lease lapses: it is claimed again), /2
        # is not due, /9 does not exist
        ids = _ids(request_id, 1, 2, 9)
        assert store.hold_effects(ids, worker="w1", now=T0) == []
        assert store.hold_effects(ids, worker="w1", now=later + LEASE) == _ids(request_id, 2)
        store.release_holds(ids, worker="w1")

    def test_a_hold_keeps_a_second_open_of_the_store_off(
        self, store: Store, store_url: str
    ) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2)], 0)
        assert store.hold_effects(_ids(request_id, 1), worker="w1", now=T0) == _ids(request_id, 1)
        other = open_store(store_url)
        try:
            assert other.hold_effects(_ids(request_id, 1), worker="w2", now=T0) == []
            assert [c.effect_id for c in other.claim_effects(T0, worker="w2", lease=LEASE)] == (
                _ids(request_id, 2)
            )
            # and another process
            assert run_in_processes(contend_claims, [(store_url, 1, T0)]) == [[]]
            store.release_holds(_ids(request_id, 1), worker="w1")
            assert other.hold_effects(_ids(request_id, 1), worker="w2", now=T0) == _ids(
                request_id, 1
            )
            other.release_holds(_ids(request_id, 1), worker="w2")
            assert run_in_processes(contend_claims, [(store_url, 1, T0)]) == [_ids(request_id, 1)]
        finally:
            other.close()
