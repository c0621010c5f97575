"""Arguments a caller sends are checked against the types their fields declare before
anything is decided: refused with a ``ValidationError`` naming the argument and nothing
written, on every store -- never accepted on write and unreadable on read.

The cases of the hardening issue, one by one; ``tests/property/test_command_inputs.py``
drives every method with arbitrary values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from reqfulfill import FixedClock, FulfillmentService, Worker, lifecycle, open_store
from reqfulfill.lifecycle.command_types import check_command
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import TaskState
from reqfulfill.model.errors import NotFoundError, SupplierError, ValidationError
from reqfulfill.model.events import RequestRejected
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder
from reqfulfill.serialization.arguments import (
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    argument_problems,
    string_problem,
)
from reqfulfill.stores import MemoryStore, Store
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

MANAGER, AGENT = "max.manager", "sam.agent"
WRONG = [None, 0, 2**63, 1.5, float("nan"), True, [], ["a"], {}, {"a": 1}, b"bytes", object()]
UNSTORABLE = ["a\x00b", "\udc80", "x\ud83d\ude00"]


def _url(kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/rf.db"
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn:
        pytest.skip("REQFULFILL_PG_DSN is not set")
    pytest.importorskip("psycopg")
    return f"{dsn}{'&' if '?' in dsn else '?'}schema=rf_args_{os.urandom(6).hex()}"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    found = _url(request.param, tmp_path)
    yield found
    if request.param == "postgresql":
        import psycopg
        from psycopg import sql

        schema = found.rsplit("schema=", 1)[1]
        with psycopg.connect(os.environ["REQFULFILL_PG_DSN"], autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@attrs.define
class Two:
    """The service called, and the store a fresh service reads (the same store object for
    ``memory://``, a second connection to the same database otherwise)."""

    service: FulfillmentService
    observer: Store

    def fresh(self) -> FulfillmentService:
        return FulfillmentService(demo_catalog(), store=self.observer, load_entrypoints=False)


@pytest.fixture
def two(url: str) -> Iterator[Two]:
    service = FulfillmentService(
        demo_catalog(), store=url, clock=FixedClock(), load_entrypoints=False
    )
    observer = service.store if url.startswith("memory") else open_store(url)
    yield Two(service, observer)
    service.store.close()
    observer.close()


def _refused(two: Two, rid: str, call: Any, path: str) -> ValidationError:
    before = two.service.store.load(rid)
    with pytest.raises(ValidationError) as info:
        call()
    assert path in info.value.paths, info.value
    assert two.service.store.load(rid) == before
    fresh = two.fresh()
    assert fresh.get(rid) == two.service.get(rid)
    return info.value


def _phone(two: Two) -> str:
    return two.service.submit(demo_requester(), "iphone-15", "portal").id


@pytest.mark.parametrize("value", WRONG + UNSTORABLE, ids=repr)
def test_a_rejection_reason_that_is_not_storable_text_is_refused_on_every_store(
    two: Two, value: object
) -> None:
    rid = _phone(two)
    _refused(two, rid, lambda: two.service.reject(rid, MANAGER, value), "reason")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("cancel", "reason"),
        ("wait", "reason"),
        ("fail_task", "reason"),
        ("skip_task", "reason"),
        ("ship", "tracking"),
        ("triage", "category"),
    ],
)
@pytest.mark.parametrize("value", [[], 1, float("nan"), b"x", "\x00", "\udc80"], ids=repr)
def test_free_text_arguments_are_checked_before_anything_is_decided(
    two: Two, method: str, path: str, value: object
) -> None:
    service = two.service
    rid = service.submit(demo_requester(), "password-reset", "portal").id
    calls = {
        "cancel": lambda: service.cancel(rid, AGENT, value),
        "wait": lambda: service.wait(rid, AGENT, value),
        "fail_task": lambda: service.fail_task(rid, "reset", AGENT, value),
        "skip_task": lambda: service.skip_task(rid, "reset", AGENT, value),
        "ship": lambda: service.ship(rid, "reset", AGENT, tracking=value),
        "triage": lambda: service.triage(rid, AGENT, category=value),
    }
    _refused(two, rid, calls[method], path)


def test_skip_task_without_a_reason_is_a_validation_error_not_an_attribute_error(
    two: Two,
) -> None:
    rid = two.service.submit(demo_requester(), "password-reset", "portal").id
    _refused(two, rid, lambda: two.service.skip_task(rid, "reset", AGENT, None), "reason")  # type: ignore[arg-type]


def test_accepted_text_of_any_script_loads_equal_in_a_fresh_service(two: Two) -> None:
    rid = _phone(two)
    reason = "nope \u202e \U0001d4b3 \U0001f600 \t\r\n" + "é" * 5_000
    rejected = two.service.reject(rid, MANAGER, reason)
    assert two.fresh().get(rid) == rejected
    assert isinstance(two.fresh().history(rid)[-2], RequestRejected)


@pytest.mark.parametrize("value", [None, 7, 2**63, ["REQ-1"], ("a",), b"REQ", "", "R\x00"])
def test_a_request_id_that_is_not_an_id_is_a_validation_error(two: Two, value: object) -> None:
    for call in (two.service.get, two.service.history, two.service.progress):
        with pytest.raises(ValidationError) as info:
            call(value)  # type: ignore[arg-type]
        assert info.value.paths == ["request_id"]
    with pytest.raises(ValidationError):
        two.service.approve(value, MANAGER)  # type: ignore[arg-type]


def test_a_well_formed_unknown_id_is_not_found(two: Two) -> None:
    with pytest.raises(NotFoundError):
        two.service.get("REQ-NOPE")
    with pytest.raises(ValidationError):
        two.service.get("R" * (MAX_ID_LENGTH + 1))


@pytest.mark.parametrize("value", [1.5, -1, 0, 10_001, True, "3", 2**64])
def test_queue_limit_must_be_a_count_from_1_to_10000(two: Two, value: object) -> None:
    _phone(two)
    with pytest.raises(ValidationError) as info:
        two.service.queue(limit=value)  # type: ignore[arg-type]
    assert info.value.paths == ["limit"]
    assert len(two.service.queue(limit=1)) == 1
    assert len(two.service.queue(limit=10_000)) == 1


@pytest.mark.parametrize("value", [0, "2026-01-01", datetime(2026, 1, 1)])
def test_metrics_since_must_be_an_aware_date_time(two: Two, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        two.service.metrics(since=value)  # type: ignore[arg-type]
    assert info.value.paths == ["since"]


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"status": None}, "status"),
        ({"status": "teleported"}, "status"),
        ({"status": ["placed"]}, "status"),
        ({"ref": None}, "ref"),
        ({"supplier_id": ["acme-mobile"]}, "supplier_id"),
    ],
)
def test_a_supplier_update_with_bad_arguments_is_a_validation_error(
    two: Two, arguments: dict[str, Any], path: str
) -> None:
    call = {"supplier_id": "acme-mobile", "ref": "R-1", "status": "placed", **arguments}
    with pytest.raises(ValidationError) as info:
        two.service.record_supplier_update(**call)
    assert info.value.paths == [path]


@pytest.mark.parametrize("value", [*UNSTORABLE, "x" * (MAX_ID_LENGTH + 1)], ids=repr)
def test_ids_a_store_cannot_hold_are_refused_alike_on_every_store(two: Two, value: str) -> None:
    requester = attrs.evolve(demo_requester(), id=value)
    with pytest.raises(ValidationError) as info:
        two.service.submit(requester, "password-reset", "portal", request_id="REQ-ID")
    assert info.value.paths == ["requester.id"]
    with pytest.raises(ValidationError) as info:
        two.service.submit(demo_requester(), "password-reset", "portal", request_id=value)
    assert info.value.paths == ["request_id"]
    assert two.service.store.load("REQ-ID") == []


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def test_answers_nested_one_level_short_of_the_limit_are_refused_not_stored_unreadable(
    two: Two,
) -> None:
    # an event's fields are read one level below the event: 31 levels of answers used to
    # be written and then refused by every load
    with pytest.raises(ValidationError) as info:
        two.service.submit(
            demo_requester(), "password-reset", "portal", {"a": _nested(31)}, request_id="R31"
        )
    assert info.value.paths[0].startswith("answers.a.k")
    assert two.service.store.load("R31") == []
    accepted = two.service.submit(
        demo_requester(), "password-reset", "portal", {"a": _nested(30)}, request_id="R30"
    )
    assert two.fresh().get("R30") == accepted


@pytest.mark.parametrize(
    ("answers", "path"),
    [
        ({"n": float("nan")}, "answers.n"),
        ({"big": 2**64}, "answers.big"),
        ({"s": "\x00"}, "answers.s"),
        ({"l": [1, "\udc80"]}, "answers.l[1]"),
        ({"t": {"a", "b"}}, "answers.t"),
        ({1: "x"}, "answers"),
        ([("a", 1)], "answers"),
        (0, "answers"),
    ],
)
def test_answers_that_are_not_storable_json_data_name_their_path(
    two: Two, answers: Any, path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        two.service.submit(demo_requester(), "password-reset", "portal", answers, request_id="RA")
    assert info.value.paths == [path]


def test_a_submit_actor_is_not_turned_into_text() -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    with pytest.raises(ValidationError) as info:
        service.submit(demo_requester(), "password-reset", "portal", actor=42)  # type: ignore[arg-type]
    assert info.value.paths == ["actor"]
    with pytest.raises(ValidationError) as info:
        service.submit({"id": "erin"}, "password-reset", "portal")  # type: ignore[arg-type]
    assert info.value.paths == ["requester"]


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"rules": {}}, "rules"),
        ({"sla": {}}, "sla"),
        ({"store": 123}, "store"),
        ({"store": object()}, "store"),
        ({"clock": "now"}, "clock"),
        ({"poll_interval": -timedelta(1)}, "poll_interval"),
        ({"poll_interval": 60}, "poll_interval"),
        ({"close_after": "1d"}, "close_after"),
        ({"feedback": {}}, "feedback"),
        ({"plugins": "acme"}, "plugins"),
        ({"plugins": 5}, "plugins"),
        ({"id_factory": "REQ-1"}, "id_factory"),
        ({"load_entrypoints": "no"}, "load_entrypoints"),
    ],
)
def test_a_service_built_with_a_wrong_argument_names_it(options: dict[str, Any], path: str) -> None:
    arguments = {"store": "memory://", "load_entrypoints": False, **options}
    with pytest.raises(ValidationError) as info:
        FulfillmentService(demo_catalog(), **arguments)
    assert info.value.paths == [path]


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"lease": timedelta(0)}, "lease"),
        ({"lease": -timedelta(minutes=5)}, "lease"),
        ({"lease": 300}, "lease"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"backoff": -timedelta(seconds=1)}, "backoff"),
        ({"max_backoff": None}, "max_backoff"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"seed": "seven"}, "seed"),
    ],
)
def test_a_worker_built_with_a_wrong_argument_names_it(options: dict[str, Any], path: str) -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    with pytest.raises(ValidationError) as info:
        Worker(service, **options)
    assert info.value.paths == [path]
    with pytest.raises(ValidationError) as info:
        Worker(object())  # type: ignore[arg-type]
    assert info.value.paths == ["service"]


@pytest.mark.parametrize("kind", lifecycle.commands(), ids=lambda kind: kind.__name__)
def test_every_field_of_every_command_is_checked_by_its_declared_type(
    kind: type[lifecycle.Command],
) -> None:
    junk = {field.name: object() for field in attrs.fields(kind)}
    with pytest.raises(ValidationError) as info:
        check_command(kind(**junk))
    assert info.value.paths == [field.name for field in attrs.fields(kind)]


def test_a_command_that_is_not_one_is_refused_by_execute() -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    rid = service.submit(demo_requester(), "password-reset", "portal").id
    for command in (None, b"\x00", "approve", lifecycle.Approve):
        with pytest.raises(ValidationError) as info:
            service.execute(rid, command)  # type: ignore[arg-type]
        assert info.value.paths == ["command"]


def test_string_limits() -> None:
    assert string_problem("é" * MAX_ID_LENGTH, "x") is None
    assert string_problem("é" * (MAX_ID_LENGTH + 1), "x") is not None
    assert string_problem("😀", "x") is None  # an astral character is not a surrogate
    reason = lifecycle.Reject(actor="m", reason="x" * MAX_TEXT_LENGTH)
    assert argument_problems(reason) == []
    longer = lifecycle.Reject(actor="m", reason="x" * (MAX_TEXT_LENGTH + 1))
    assert [p.path for p in argument_problems(longer)] == ["reason"]
    requester = Requester(id="erin", name="\x00", department="", location="")
    assert [p.path for p in argument_problems(requester, "requester")] == ["requester.name"]


def test_the_memory_store_refuses_what_the_codec_refuses_and_appends_nothing() -> None:
    store = MemoryStore()
    bad = RequestRejected(
        event_id="R/1",
        request_id="R",
        at=datetime(2026, 1, 1).astimezone(),
        actor="m",
        reason=None,  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError, match=re.escape("RequestRejected.reason")):
        store.append("R", [bad], 0)
    assert store.load("R") == []


def test_the_memory_store_loads_events_read_back_from_their_stored_form() -> None:
    event = RequestRejected(
        event_id="R/1", request_id="R", at=datetime(2026, 1, 1).astimezone(), actor="m", reason="no"
    )
    coded, plain = MemoryStore(), open_store("memory://?codec=off")
    for store in (coded, plain):
        store.append("R", [event], 0)
        assert store.load("R") == [event]
    assert coded.load("R")[0] is not event
    assert plain.load("R")[0] is event
    assert coded.codec
    assert not getattr(plain, "codec", True)
    for url in ("memory://?codec=maybe", "memory://?size=3", "memory://somewhere"):
        with pytest.raises(ValidationError):
            open_store(url)


def test_the_memory_store_decodes_each_event_once_and_keeps_it() -> None:
    at = datetime(2026, 1, 1).astimezone()
    first = RequestRejected(event_id="R/1", request_id="R", at=at, actor="m", reason="no")
    second = RequestRejected(event_id="R/2", request_id="R", at=at, actor="m", reason="again")
    store = MemoryStore()
    store.append("R", [first], 0)
    (loaded,) = store.load("R")
    assert loaded == first
    assert loaded is not first  # read back from its text, not the object appended
    store.append("R", [second], 1)
    again = store.load("R")
    assert again == [first, second]
    assert again[0] is loaded  # decoded once, then kept
    assert store.load_after("R", 1)[0] is again[1]
    assert [e.event for e in store.read_all()] == again
    assert all(a is b for a, b in zip((e.event for e in store.read_all()), again, strict=True))


def test_the_reliability_page_examples_run() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text("utf-8"), re.DOTALL | re.M)
    assert blocks
    for index, block in enumerate(blocks):
        exec(compile(block, f"reliability.md (python block {index + 1})", "exec"), {})


class _BrokenSupplier(FakeSupplier):
    """Refuses every order with a message no store column could hold as it is."""

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        raise SupplierError("out of stock\x00 \udc80", retryable=False)


def test_a_supplier_error_with_unstorable_text_fails_the_task_with_that_text_made_storable(
    url: str,
) -> None:
    service = FulfillmentService(
        demo_catalog(),
        store=url,
        plugins=[_BrokenSupplier("acme-mobile")],
        clock=FixedClock(),
        load_entrypoints=False,
    )
    rid = service.submit(demo_requester(), "iphone-15", "portal").id
    service.approve(rid, MANAGER)
    Worker(service, seed=1).run_pending()
    task = service.get(rid).task("order")
    assert task.state is TaskState.FAILED
    failed = [e for e in service.history(rid) if e.type == "TaskFailed"]
    assert "out of stock\ufffd \ufffd" in failed[-1].reason
    later = service.store.claim_effects(
        datetime.now(UTC) + timedelta(days=400), worker="w", lease=timedelta(minutes=1)
    )
    assert [e.kind for e in later if e.kind == "SupplierOrderRequested"] == []
    service.store.close()
