"""service.receive on every store: idempotent by message id (across processes too),
replies on the right request, the requester hook, suggestions and auto-triage."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from reqfulfill import FulfillmentService, hookimpl
from reqfulfill.intake import InboundMessage, parse_email
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel, RequestState
from reqfulfill.model.errors import NotFoundError, ValidationError
from reqfulfill.model.events import (
    NotificationRequested,
    RequesterReplied,
    RequestQueuedForTriage,
    RequestTriaged,
)
from reqfulfill.plugins import open_store
from reqfulfill.stores import Store
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.contracts import run_in_processes

ERIN = demo_requester()


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn.startswith(("postgresql://", "postgres://")):
        _unavailable("REQFULFILL_PG_DSN is not set to a postgresql:// URL")
    import psycopg
    from psycopg import sql

    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        _unavailable(f"cannot reach PostgreSQL: {exc}")
    schema = f"rf_intake_{uuid.uuid4().hex[:12]}"
    yield f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str | Store:
    """A store URL; for ``memory://`` one store object, so a second service shares it."""
    if request.param == "memory":
        return open_store("memory://")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rf.db"
    found: str = request.getfixturevalue("pg_url")
    return found


class Directory:
    """Knows Erin by her mail address."""

    @hookimpl
    def reqfulfill_requester(self, address: str) -> Requester | None:
        return ERIN if address == "erin.user@example.com" else None


def intake_catalog(threshold: float | None) -> Catalog:
    data = demo_catalog().to_dict()
    if threshold is not None:
        data["intake"] = {"auto_triage": {"email": threshold}}
    return Catalog.from_dict(data)


_OPEN: list[FulfillmentService] = []


def service(url: str | Store, threshold: float | None = None) -> FulfillmentService:
    made = FulfillmentService(
        intake_catalog(threshold), store=url, plugins=[Directory()], load_entrypoints=False
    )
    _OPEN.append(made)
    return made


@pytest.fixture(autouse=True)
def close_stores() -> Iterator[None]:
    """Every service's store is closed after the test (PostgreSQL connections)."""
    yield
    while _OPEN:
        _OPEN.pop().store.close()


def raw_mail(message_id: str, subject: str, body: str, extra: str = "") -> bytes:
    return (
        f"Message-ID: <{message_id}>\r\nFrom: Erin User <erin.user@example.com>\r\n"
        f"Subject: {subject}\r\n{extra}\r\n{body}\r\n"
    ).encode()


PHONE = raw_mail("p1@mail.example", "phone", "My work phone is broken, I need a new mobile.")


def test_a_mail_received_twice_makes_one_request_and_writes_nothing_the_second_time(
    url: str,
) -> None:
    first = service(url).receive(parse_email(PHONE))
    assert first.state is RequestState.TRIAGE
    assert first.messages == ("p1@mail.example",)
    again = service(url)  # a fresh service: what it knows is what the store holds
    second = again.receive(parse_email(PHONE))
    assert (second.id, second.version) == (first.id, first.version)
    assert len(again.store.query()) == 1
    assert again.store.find_message("p1@mail.example") == first.id


def test_suggestions_are_attached_to_the_triage_queueing(url: str | Store) -> None:
    svc = service(url)
    request = svc.receive(parse_email(PHONE))
    queued = [e for e in service(url).history(request.id) if isinstance(e, RequestQueuedForTriage)]
    assert [s.item for s in queued[0].suggestions][:1] == ["iphone-15"]
    assert "phone" in queued[0].suggestions[0].terms
    assert 0 < queued[0].suggestions[0].confidence <= 1


def test_a_confident_suggestion_triages_the_request_at_the_channels_threshold(
    url: str | Store,
) -> None:
    svc = service(url, threshold=0.5)
    request = svc.receive(parse_email(PHONE))
    assert request.item == "iphone-15"
    assert request.state is RequestState.AWAITING_APPROVAL  # the phone needs approval
    triaged = [e for e in service(url).history(request.id) if isinstance(e, RequestTriaged)]
    assert [(e.rule, e.item, e.actor) for e in triaged] == [("suggestion", "iphone-15", "system")]
    assert triaged[0].confidence is not None
    assert triaged[0].confidence >= 0.5
    assert "phone" in triaged[0].terms
    password = svc.receive(
        parse_email(raw_mail("pw@mail.example", "locked", "forgot my password, locked out"))
    )
    assert password.state is RequestState.IN_FULFILLMENT  # no approval: fulfilled at once


def test_below_the_threshold_or_without_one_an_agent_triages(url: str | Store) -> None:
    unsure = service(url, threshold=1.0).receive(parse_email(PHONE))
    assert (unsure.state, unsure.item) == (RequestState.TRIAGE, None)
    other = raw_mail("p2@mail.example", "phone", "My work phone is broken, I need a new mobile.")
    chat = InboundMessage("c1", "erin.user@example.com", "", "phone broken", channel=Channel.CHAT)
    svc = service(url, threshold=0.1)  # for email only
    assert svc.receive(parse_email(other)).item == "iphone-15"
    assert svc.receive(chat).state is RequestState.TRIAGE


def test_a_reply_by_thread_or_subject_is_recorded_and_the_assignee_told(url: str | Store) -> None:
    svc = service(url)
    request = svc.receive(parse_email(PHONE))
    reply = raw_mail(
        "r1@mail.example",
        "Re: phone",
        "it still doesn't work",
        "In-Reply-To: <p1@mail.example>\r\n",
    )
    answered = svc.receive(parse_email(reply))
    assert answered.id == request.id
    tagged = InboundMessage(
        "r2@chat", "colleague@example.com", f"Re: [EXTERNAL] [{request.id}] more", "also mine"
    )
    assert svc.receive(tagged).id == request.id
    fresh = service(url)
    assert len(fresh.store.query()) == 1
    history = fresh.history(request.id)
    replies = [e for e in history if isinstance(e, RequesterReplied)]
    assert [(e.message_id, e.text, e.actor) for e in replies] == [
        ("r1@mail.example", "it still doesn't work", "erin.user"),
        ("r2@chat", "also mine", "colleague@example.com"),
    ]
    told = [
        e.notification.recipient
        for e in history
        if isinstance(e, NotificationRequested) and e.notification.kind == "requester_replied"
    ]
    assert told == ["group:service-desk", "group:service-desk"]
    # delivered again: nothing new
    version = fresh.get(request.id).version
    assert fresh.receive(parse_email(reply)).version == version


def test_a_reply_goes_to_the_claimed_agent(url: str | Store) -> None:
    svc = service(url)
    request = svc.receive(parse_email(PHONE))
    svc.claim(request.id, "sam.agent")
    reply = InboundMessage(
        "r9", "erin.user@example.com", "x", "hello?", in_reply_to="p1@mail.example"
    )
    svc.receive(reply)
    last = [e for e in svc.history(request.id) if isinstance(e, NotificationRequested)][-1]
    assert last.notification.recipient == "sam.agent"


def test_an_unknown_sender_is_refused_naming_the_address_with_nothing_written(
    url: str | Store,
) -> None:
    svc = service(url)
    stranger = InboundMessage("s1", "who@example.org", "phone", "need a phone")
    with pytest.raises(NotFoundError) as info:
        svc.receive(stranger)
    assert "who@example.org" in str(info.value)
    assert svc.store.query() == []
    assert svc.store.find_message("s1") is None
    # the host may name the requester itself
    assert svc.receive(stranger, requester=ERIN).requester == ERIN


@pytest.mark.parametrize(
    ("message", "path"),
    [
        ("not a message", "message"),
        (InboundMessage("", "a@b", "s", "t"), "message.message_id"),
        (InboundMessage("m", "a@b", "s", "t", references=("x\x00",)), "message.references[0]"),
        (InboundMessage("m", "a@b", "s", "t", channel="mail"), "message.channel"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_message_is_refused_with_nothing_written(
    url: str, message: object, path: str
) -> None:
    svc = service(url)
    with pytest.raises(ValidationError) as info:
        svc.receive(message)  # type: ignore[arg-type]
    assert path in info.value.paths
    assert svc.store.query() == []


def test_submit_checks_the_suggestions_it_is_given() -> None:
    from reqfulfill.model.events import ItemSuggestion

    svc = service("memory://")
    with pytest.raises(ValidationError) as info:
        svc.submit(ERIN, None, Channel.EMAIL, suggestions=[ItemSuggestion("nope", 0.5)])
    assert info.value.paths == ["suggestions[0].item"]
    with pytest.raises(ValidationError) as info:
        svc.submit(ERIN, None, Channel.EMAIL, suggestions=[ItemSuggestion("iphone-15", 1.5)])
    assert info.value.paths == ["suggestions[0].confidence"]
    assert svc.store.query() == []


def _receive_in_process(url: str, raw: bytes) -> tuple[str, int]:
    made = service(url)
    try:
        request = made.receive(parse_email(raw))
    finally:
        made.store.close()
    return request.id, request.version


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_receiving_one_mail_at_once_make_one_request(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/race.db" if kind == "sqlite" else request.getfixturevalue("pg_url")
    service(url).store.close()  # the schema, before the race
    results = run_in_processes(_receive_in_process, [(url, PHONE)] * 4)
    assert len({request_id for request_id, _ in results}) == 1
    assert len(service(url).store.query()) == 1
