"""The message lookup checks of :class:`~reqfulfill.testing.store_contract.StoreContract`:
``find_message``, and the unique key on a message id that keeps a mail received twice
-- by one process or several at once -- from making two requests."""

from __future__ import annotations

from typing import ClassVar

import attrs
import pytest

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.plugins import open_store
from reqfulfill.stores import Store
from reqfulfill.testing.processes import run_in_processes
from reqfulfill.testing.samples import new_id, sample_summary, waiting_stream

__all__ = ["MessageLookupContract", "record_message"]


def record_message(url: str, message_id: str) -> tuple[str, str | None, bool]:
    """In a process of its own: append a new request holding ``message_id``; return the
    request's id, the request the store then finds by the message, and whether the
    append went through (a ``ConcurrencyError`` says another request holds it)."""
    store = open_store(url)
    try:
        request_id = new_id()
        summary = sample_summary(request_id, messages=(message_id,))
        try:
            store.append(request_id, waiting_stream(request_id, 2), 0, summary=summary)
        except ConcurrencyError:
            return request_id, store.find_message(message_id), False
        return request_id, store.find_message(message_id), True
    finally:
        store.close()


class MessageLookupContract:
    """``find_message`` and the message ids' unique key (a base class of ``StoreContract``)."""

    supports_multiprocess: ClassVar[bool] = True
    contention_processes: ClassVar[int] = 4

    def test_find_message(self, store: Store) -> None:
        request_id = new_id()
        summary = sample_summary(request_id, messages=("a1@mail.example", "chat-7"))
        store.append(request_id, waiting_stream(request_id, 1), 0, summary=summary)
        assert store.find_message("a1@mail.example") == request_id
        assert store.find_message("chat-7") == request_id
        assert store.find_message("a2@mail.example") is None

    def test_a_later_append_keeps_and_adds_messages(self, store: Store) -> None:
        request_id = new_id()
        first = sample_summary(request_id, messages=("m1",))
        store.append(request_id, waiting_stream(request_id, 1), 0, summary=first)
        later = attrs.evolve(first, messages=("m1", "m2"))
        store.append(request_id, waiting_stream(request_id, 1, start=2), 1, summary=later)
        assert (store.find_message("m1"), store.find_message("m2")) == (request_id, request_id)

    def test_a_message_another_request_holds_refuses_the_append(self, store: Store) -> None:
        holder, other = new_id(), new_id()
        store.append(
            holder, waiting_stream(holder, 1), 0, summary=sample_summary(holder, messages=("m",))
        )
        with pytest.raises(ConcurrencyError):
            store.append(
                other,
                waiting_stream(other, 2),
                0,
                summary=sample_summary(other, messages=("n", "m")),
            )
        assert store.load(other) == []  # nothing of the refused append was written
        assert store.find_message("m") == holder
        assert store.find_message("n") is None
        assert [s.request_id for s in store.query(requester="erin.user")] == [holder]

    def test_processes_recording_one_message_make_one_request(
        self, store: Store, store_url: str
    ) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        message_id = f"{new_id('MSG')}@mail.example"
        results = run_in_processes(
            record_message, [(store_url, message_id)] * self.contention_processes
        )
        winners = [request_id for request_id, _, wrote in results if wrote]
        assert len(winners) == 1
        assert {found for _, found, _ in results} == {winners[0]}
        for request_id, _, wrote in results:
            assert bool(store.load(request_id)) == wrote
