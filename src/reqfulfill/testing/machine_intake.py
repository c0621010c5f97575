"""The intake steps of :class:`~reqfulfill.testing.machine.FulfillmentMachine`: mails and
chat messages handed to ``service.receive`` (a mixin it inherits; hypothesis collects
``@rule`` s from base classes).

- **A new message** (a fresh message id) from a requester makes a new request: it waits
  in triage with the suggester's items attached (catalog items, best first, confidences
  between 0 and 1), or, where the catalog's ``[intake] auto_triage`` threshold for its
  channel is reached, is triaged to the top item (rule ``"suggestion"``).
- **The same message again** (the same id; its text may differ, as a re-delivery
  through another relay does) returns the request it made or was recorded on, and
  writes nothing, on any request.
- **A reply** names a message of a request in ``in_reply_to`` or ``references``, or
  the request's id in brackets in its subject: it is recorded on that request
  (``RequesterReplied``) and makes no new request; from ``system`` it is refused and
  writes nothing.
- **A stranger's message** (an address no one knows, no requester given) is refused
  with ``NotFoundError``, and writes nothing.

After every step: every message id the machine sent is found by
``store.find_message`` at the request it made or was recorded on, and every request
lists exactly the messages the machine sent it, in order.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, multiple, rule

from reqfulfill.intake.message import InboundMessage
from reqfulfill.model.enums import Channel, RequestState
from reqfulfill.model.errors import NotFoundError, ReqfulfillError
from reqfulfill.model.events import RequesterReplied, RequestQueuedForTriage, RequestTriaged
from reqfulfill.model.request import ServiceRequest

if TYPE_CHECKING:
    from reqfulfill.model.catalog import Catalog, Requester
    from reqfulfill.service import FulfillmentService

__all__ = ["IntakeLog", "IntakeSteps"]

TEXTS: tuple[str, ...] = (
    "Hi, my phone screen is cracked after I dropped it, can I get a new one?",
    "Hallo, mein Diensthandy ist kaputt. Kann ich ein neues bekommen?",
    "I forgot my pasword and I'm locked out of my account",
    "mot de passe oublié, compte bloqué",
    "Please give me access to the CRM, I moved to the sales team.",
    "Thanks, all working again!",
    "Is the canteen open on Friday?",
    "",
)
"""What the machine's messages say: the demo catalog's items in a few languages, and
text that matches no item."""

_CHANNELS = (Channel.EMAIL, Channel.CHAT, Channel.PHONE)

_KINDS = ("new", "again", "reply", "stranger")

_REQUESTS: Bundle[str] = Bundle("requests")
"""The machine's bundle of request ids (a bundle is known by its name)."""


class IntakeLog:
    """What the machine sent: each message by id with the request it made or was
    recorded on, and per request the ids recorded on it, in order."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[InboundMessage, str]] = {}
        self.of: dict[str, list[str]] = {}
        self.count = 0


class IntakeSteps:
    """Receive new messages, duplicates, replies and strangers' messages; check the
    message index after every step."""

    if TYPE_CHECKING:
        outcomes: ClassVar[Counter[str]]
        service: FulfillmentService
        _catalog: Catalog
        _requesters: list[Requester]
        _token: str
        _ids: list[str]
        _states: dict[str, ServiceRequest]
        _returned: dict[str, ServiceRequest]
        _touched: set[str]

        def _can_submit(self) -> bool: ...

    def _intake(self) -> IntakeLog:
        """The mixin's own state, made on first use (the machine's ``__init__`` is not
        the mixin's)."""
        found: IntakeLog | None = self.__dict__.get("_intake_log")
        if found is None:
            found = IntakeLog()
            self.__dict__["_intake_log"] = found
        return found

    def _message_id(self) -> str:
        log = self._intake()
        log.count += 1
        return f"m{log.count}.{self._token.lower()}@mail.example"

    def _written(self) -> dict[str, int]:
        """Every request of the store and its number of events (what "nothing written"
        compares)."""
        store = self.service.store
        return {s.request_id: len(store.load(s.request_id)) for s in store.query()}

    def _receive(
        self, what: str, message: InboundMessage, requester: Requester | None
    ) -> ServiceRequest | ReqfulfillError:
        try:
            got = self.service.receive(message, requester)
        except ReqfulfillError as error:
            type(self).outcomes[f"{what} refused ({type(error).__name__})"] += 1
            return error
        type(self).outcomes[f"{what} accepted"] += 1
        return got

    def _record(self, message: InboundMessage, request: ServiceRequest) -> None:
        log = self._intake()
        log.sent[message.message_id] = (message, request.id)
        log.of.setdefault(request.id, []).append(message.message_id)
        self._returned[request.id] = request
        self._touched.add(request.id)

    def _check_suggested(self, request: ServiceRequest, channel: Channel) -> None:
        """A new request's suggestions are catalog items, best first; the top one
        triaged it where the channel's threshold was reached, and only there."""
        history = self.service.history(request.id)
        queued = [e for e in history if isinstance(e, RequestQueuedForTriage)]
        assert len(queued) == 1, f"{request.id}: {len(queued)} RequestQueuedForTriage events"
        suggestions = queued[0].suggestions
        assert all(self._catalog.has_item(s.item) for s in suggestions), suggestions
        assert all(0 <= s.confidence <= 1 for s in suggestions), suggestions
        confidences = [s.confidence for s in suggestions]
        assert confidences == sorted(confidences, reverse=True), suggestions
        threshold = self._catalog.intake.auto_triage.get(channel.value)
        auto = [e for e in history if isinstance(e, RequestTriaged) and e.rule == "suggestion"]
        if threshold is not None and suggestions and suggestions[0].confidence >= threshold:
            assert [e.item for e in auto] == [suggestions[0].item], (request.id, auto)
            assert request.state is not RequestState.TRIAGE
            type(self).outcomes["receive new triaged by suggestion"] += 1
        else:
            assert not auto, f"{request.id} was triaged below the threshold {threshold}: {auto}"
            assert request.state is RequestState.TRIAGE, request.state

    # -- rules ---------------------------------------------------------------------------

    @rule(target=_REQUESTS, data=st.data(), kind=st.sampled_from(_KINDS))
    def receive_mail(self, data: st.DataObject, kind: str) -> Any:
        """A mail or chat message comes in: a new one, one again, a reply, a stranger's
        (one rule, so the machine's other steps keep their share of the walk)."""
        if kind == "new" and self._can_submit():
            text = data.draw(st.sampled_from(TEXTS), label="text")
            return self._receive_new(data, text, data.draw(st.sampled_from(_CHANNELS)))
        if kind == "again" and self._sent():
            self._receive_again(data, data.draw(st.booleans(), label="changed"))
        elif kind == "reply" and self._ids:
            how = data.draw(st.sampled_from(["in_reply_to", "references", "subject"]))
            self._receive_reply(data, how, data.draw(st.sampled_from(TEXTS), label="text"))
        elif kind == "stranger":
            self._receive_stranger(data.draw(st.sampled_from(_CHANNELS), label="channel"))
        return multiple()

    def _receive_new(self, data: st.DataObject, text: str, channel: Channel) -> str:
        """A requester writes in: a new request, in triage or triaged by the suggester."""
        requester = data.draw(st.sampled_from(self._requesters), label="requester")
        subject = data.draw(st.sampled_from(["", "help", "Re: [EXT] question"]), label="subject")
        message = InboundMessage(
            self._message_id(), f"{requester.id}@mail.example", subject, text, channel=channel
        )
        before = self._written()
        got = self._receive("receive new", message, requester)
        assert not isinstance(got, ReqfulfillError), f"new message refused: {got!r}"
        assert got.id not in before, f"a new message was recorded on {got.id}"
        assert got.messages == (message.message_id,), got.messages
        assert got.requester == requester, got.requester
        assert {r: n for r, n in self._written().items() if r != got.id} == before, (
            "a new message changed another request"
        )
        self._check_suggested(got, channel)
        self._ids.append(got.id)
        self._record(message, got)
        return got.id

    def _sent(self) -> bool:
        return bool(self._intake().sent)

    def _receive_again(self, data: st.DataObject, changed: bool) -> None:
        """A message delivered again (now and then with other text): the request it made
        or was recorded on, and nothing written."""
        sent = self._intake().sent
        message_id = data.draw(st.sampled_from(sorted(sent)), label="message")
        message, request_id = sent[message_id]
        if changed:
            message = InboundMessage(
                message.message_id, message.sender, "Fwd: " + message.subject, "re-sent"
            )
        requester = data.draw(st.sampled_from([None, *self._requesters]), label="requester")
        before = self._written()
        got = self._receive("receive again", message, requester)
        assert not isinstance(got, ReqfulfillError), f"a duplicate was refused: {got!r}"
        assert got.id == request_id, f"{message_id} made {request_id}, now gives {got.id}"
        assert self._written() == before, f"the duplicate {message_id} wrote events"
        self._returned[got.id] = got
        self._touched.add(got.id)

    def _receive_reply(self, data: st.DataObject, how: str, text: str) -> None:
        """A reply to a request, by its thread headers or by ``[id]`` in the subject:
        recorded on that request (by anyone but the system), no new request."""
        request_id = data.draw(st.sampled_from(self._ids), label="request")
        known = self._intake().of.get(request_id, [])
        if how != "subject" and not known:
            how = "subject"  # a portal request: only its id names it
        sender = data.draw(
            st.sampled_from(["erin.user@mail.example", "someone@else.example", "system"]),
            label="sender",
        )
        named = data.draw(st.sampled_from(known), label="answers") if known else None
        unknown = f"elsewhere.{self._token.lower()}@mail.example"  # no request's message
        message = InboundMessage(
            self._message_id(),
            sender,
            f"Re: [{request_id}] still broken" if how == "subject" else "Re: your request",
            text,
            in_reply_to=named if how == "in_reply_to" else None,
            references=(unknown, named) if how == "references" and named else (),
        )
        before = self._written()
        got = self._receive("receive reply", message, None)
        after = self._written()
        if isinstance(got, ReqfulfillError):
            assert sender == "system", f"a reply from {sender} was refused: {got!r}"
            assert after == before, f"a refused reply wrote events: {got!r}"
            assert self.service.store.find_message(message.message_id) is None
            return
        assert sender != "system", f"a reply from the system was recorded on {got.id}"
        assert got.id == request_id, f"a reply to {request_id} was recorded on {got.id}"
        assert set(after) == set(before), "a reply made a new request"
        assert {r: n for r, n in after.items() if r != got.id} == {
            r: n for r, n in before.items() if r != got.id
        }, "a reply changed another request"
        new = self.service.history(got.id)[before[got.id] :]
        assert isinstance(new[0], RequesterReplied), new
        assert (new[0].message_id, new[0].text) == (message.message_id, text)
        self._record(message, got)

    def _receive_stranger(self, channel: Channel) -> None:
        """A message from an address no one knows, no requester given: ``NotFoundError``
        naming the address, nothing written."""
        message = InboundMessage(
            self._message_id(),
            f"stranger.{self._token.lower()}@unknown.example",
            "",
            TEXTS[0],
            channel=channel,
        )
        before = self._written()
        got = self._receive("receive from stranger", message, None)
        assert isinstance(got, NotFoundError), f"a stranger's message gave {got!r}"
        assert message.sender in str(got)
        assert self._written() == before, "a refused message wrote events"
        assert self.service.store.find_message(message.message_id) is None

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def messages_find_their_requests(self) -> None:
        """Every message sent is found at its request; every request lists exactly the
        messages sent to it, in order."""
        log = self._intake()
        store = self.service.store
        for message_id, (_, request_id) in log.sent.items():
            found = store.find_message(message_id)
            assert found == request_id, f"message {message_id} finds {found}, not {request_id}"
        for request_id in self._ids:
            expected = tuple(log.of.get(request_id, ()))
            got = self.service.get(request_id).messages
            assert got == expected, f"{request_id} lists messages {got}, sent {expected}"
