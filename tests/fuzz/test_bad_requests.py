"""Malformed JSON request payloads through ``service.submit``: refused with a path, or
accepted; a refused submit leaves the store as it was (memory and SQLite)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest
from _oracle import DEEP_DICT, DEEP_LIST, WRONG_VALUES, check_refusal, mutate, paths
from _targets import REQUEST_SEED, submit_payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reqfulfill import FixedClock, FulfillmentService
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel
from reqfulfill.model.errors import ValidationError
from reqfulfill.testing import demo_catalog, demo_requester

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    where=st.sampled_from(paths(REQUEST_SEED)),
    kind=st.sampled_from(["replace", "replace", "delete", "unknown_key", "wrap"]),
    index=st.integers(0, len(WRONG_VALUES) - 1),
)
def test_mutated_request_payloads(where: tuple[Any, ...], kind: str, index: int) -> None:
    if kind == "delete" and not where:
        kind = "replace"
    payload = mutate(REQUEST_SEED, where, kind, WRONG_VALUES[index])
    check_refusal(lambda: submit_payload(payload))


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_random_json_text_as_a_request(text: str) -> None:
    def load() -> None:
        try:
            payload = json.loads(text)
        except ValueError:
            raise ValidationError.single("request.json", text[:40], "invalid JSON") from None
        submit_payload(payload)

    check_refusal(load)


def test_the_seed_payload_is_accepted() -> None:
    assert check_refusal(lambda: submit_payload(REQUEST_SEED)) is None


@pytest.fixture(params=["memory", "sqlite"])
def service(request: pytest.FixtureRequest) -> FulfillmentService:
    url = "memory://"
    if request.param == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='rf-fuzz-')}/rf.db"
    return FulfillmentService(demo_catalog(), store=url, clock=FixedClock(), load_entrypoints=False)


BAD_SUBMITS: list[tuple[str, dict[str, Any]]] = [
    ("item", {"item": "no-such-item"}),
    ("item", {"item": 42}),
    ("item", {"item": None, "channel": Channel.PORTAL}),
    ("channel", {"channel": "carrier-pigeon"}),
    ("answers", {"answers": ["not", "a", "table"]}),
    ("answers", {"answers": {1: "int key"}}),
    ("requester", {"requester": {"id": "erin"}}),
]


@pytest.mark.parametrize(("path", "change"), BAD_SUBMITS)
def test_refused_submit_writes_nothing(
    service: FulfillmentService, path: str, change: dict[str, Any]
) -> None:
    service.submit(demo_requester(), "password-reset", "portal", request_id="REQ-OK")
    before = service.store.query()
    arguments: dict[str, Any] = {
        "requester": demo_requester(),
        "item": "iphone-15",
        "channel": "portal",
        "answers": {},
    }
    arguments.update(change)
    error = check_refusal(lambda: service.submit(**arguments, request_id="REQ-BAD"))
    assert error is not None
    assert any(p.path.startswith(path) for p in error.problems), error.problems
    assert service.store.load("REQ-BAD") == []
    assert service.store.query() == before


@pytest.mark.parametrize("value", [DEEP_LIST, DEEP_DICT], ids=["deep-list", "deep-dict"])
def test_deeply_nested_answers_are_stored_or_refused(
    service: FulfillmentService, value: Any
) -> None:
    """10,000-deep answers: refused with a path, or stored and read back; never a crash."""
    error = check_refusal(
        lambda: service.submit(
            demo_requester(), "password-reset", "portal", {"x": value}, request_id="REQ-DEEP"
        )
    )
    if error is not None:
        assert service.store.load("REQ-DEEP") == []
    else:
        assert service.get("REQ-DEEP").answers


def test_huge_answer_round_trips(service: FulfillmentService) -> None:
    big = "x" * 1_000_000
    request = service.submit(
        Requester("u", "U", "D", "L", manager="m"), "password-reset", "email", {"note": big}
    )
    assert service.get(request.id).answers["note"] == big


def test_deeply_nested_item_is_refused(service: FulfillmentService) -> None:
    error = check_refusal(
        lambda: service.submit(demo_requester(), DEEP_LIST, "portal", request_id="REQ-DEEP")
    )
    assert error is not None
    assert service.store.load("REQ-DEEP") == []
