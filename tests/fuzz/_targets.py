"""Fuzz targets: (name, seed data form, loader); shared by the tests and ``fuzz/``."""

from __future__ import annotations

import json
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _oracle import check_refusal

from reqfulfill import FixedClock, FulfillmentService
from reqfulfill.intake import parse_email
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import Rules, RuleSet
from reqfulfill.serialization import structure_config
from reqfulfill.sla import BusinessCalendar, SlaPolicy
from reqfulfill.testing import DEMO_CATALOG, demo_requester

ROOT = Path(__file__).parents[2]

RULES_SEED: dict[str, Any] = {
    "assignment": {
        "rules": [
            {"name": "vip", "when": {"requester.vip": True}, "then": {"group": "desk-l2"}},
            {
                "name": "outage",
                "when": {"any": [{"answers.reason": {"regex": "(?i)outage|down"}}]},
                "then": {"group": "service-desk", "strategy": "round_robin"},
            },
        ]
    },
    "categorization": {
        "hit_policy": "first",
        "rules": [{"name": "c", "when": {"channel": ["email"]}, "then": {"category": "A/B"}}],
    },
    "prioritization": {
        "rules": [
            {
                "name": "p",
                "when": {"answers.cost": {"gt": 500}, "not": {"item.id": "x"}},
                "then": {"impact": "high"},
            }
        ]
    },
    "priority_matrix": {
        "high": {"high": 1, "medium": 2, "low": 3},
        "medium": {"high": 2, "medium": 3, "low": 4},
        "low": {"high": 3, "medium": 4, "low": 5},
    },
}
POLICY_SEED = SlaPolicy.default().to_dict()
CALENDAR_SEED = SlaPolicy.default().calendar.to_dict()
REQUEST_SEED: dict[str, Any] = {
    "requester": {
        "id": "erin.user",
        "name": "Erin User",
        "department": "Finance",
        "location": "Helsinki HQ",
        "vip": False,
        "manager": "max.manager",
    },
    "item": "iphone-15",
    "channel": "portal",
    "answers": {"from_stock": False, "quantity": 1},
}


def submit_payload(payload: Any) -> None:
    """A JSON request payload through ``service.submit``; a refusal must write nothing."""
    service = FulfillmentService(
        Catalog.from_dict(DEMO_CATALOG),
        store="memory://",
        clock=FixedClock(),
        load_entrypoints=False,
    )
    rid = "REQ-FUZZ-1"
    try:
        if not isinstance(payload, dict):
            raise ValidationError.single("", payload, "a request is a table")
        raw = payload.get("requester")
        requester = (
            raw
            if isinstance(raw, Requester)
            else structure_config(raw, Requester, path="requester")
        )
        service.submit(
            requester,
            payload.get("item"),
            payload.get("channel"),  # type: ignore[arg-type]
            payload.get("answers"),
            request_id=rid,
        )
    except ValidationError:
        assert service.store.load(rid) == [], "a refused submit wrote events"
        assert service.store.query() == [], "a refused submit wrote a summary"
        raise
    assert len(service.store.load(rid)) >= 2


TARGETS: dict[str, tuple[Any, Callable[[Any], object]]] = {
    "catalog": (DEMO_CATALOG, Catalog.from_dict),
    "rules": (RULES_SEED, Rules.from_dict),
    "rule_set": (RULES_SEED["assignment"], RuleSet.from_dict),
    "calendar": (CALENDAR_SEED, BusinessCalendar.from_dict),
    "sla_policy": (POLICY_SEED, SlaPolicy.from_dict),
    "submit": (REQUEST_SEED, submit_payload),
}

_FILES = Path(tempfile.mkdtemp(prefix="rf-fuzz-files-"))
FILE_LOADERS: dict[str, Callable[[Path], object]] = {
    "catalog": Catalog.from_toml,
    "rules": Rules.from_toml,
    "rule_set": RuleSet.from_toml,
    "calendar": BusinessCalendar.from_toml,
    "sla_policy": SlaPolicy.from_toml,
}
FILE_SEEDS: list[bytes] = [
    (ROOT / "examples" / "catalog.toml").read_bytes(),
    json.dumps(DEMO_CATALOG).encode(),
    json.dumps(RULES_SEED).encode(),
    json.dumps(POLICY_SEED).encode(),
]


def load_file(target: str, content: bytes, suffix: str) -> None:
    path = _FILES / f"input{suffix}"
    path.write_bytes(content)
    FILE_LOADERS[target](path)


def signature(exc: BaseException) -> str:
    """Where an untyped exception came from: its type and the innermost reqfulfill frame."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "reqfulfill" in f.filename]
    where = (
        f"{Path(frames[-1].filename).name}:{frames[-1].lineno} {frames[-1].name}" if frames else "?"
    )
    return f"{type(exc).__name__} at {where}"


def run_one(call: Callable[[], object]) -> str | None:
    """None when the oracle holds; else the signature of the untyped exception."""
    try:
        check_refusal(call)
    except AssertionError:
        raise
    except Exception as exc:  # the oracle's point: anything else is a bug
        return signature(exc)
    return None


# -- mail ------------------------------------------------------------------------------------

MAIL_SEEDS: list[bytes] = [
    b"Message-ID: <a1@mail.example>\r\nFrom: Erin User <erin.user@example.com>\r\n"
    b"Subject: =?utf-8?q?Handy_kaputt?=\r\n\r\nMy phone is broken.\r\n-- \r\nErin\r\n",
    b"Message-ID: <a2@mail.example>\r\nFrom: erin.user@example.com\r\n"
    b"In-Reply-To: <a1@mail.example>\r\nReferences: <a0@x> <a1@mail.example>\r\n"
    b"Subject: Re: [REQ-0123456789AB] phone\r\n\r\nstill broken\r\n\r\n"
    b"On Mon, Desk wrote:\r\n> ok\r\n",
    b"Message-ID: <a3@mail.example>\r\nFrom: =?x-unknown?b?w6k=?= <e@example.com>\r\n"
    b"Subject: Gr\xc3\xbc\xc3\x9fe \xe9t\xe9\r\nContent-Type: text/html; charset=latin-1\r\n\r\n"
    b"<p>New <b>laptop</b></p><script>alert(1)</script><img src=http://x/y>\r\n",
    b"Message-ID: <a4@mail.example>\r\nFrom: e@example.com\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\n'
    b"Content-Type: text/plain; charset=x-nope\r\n\r\nsee attached\r\n--XX\r\n"
    b'Content-Disposition: attachment; filename="a.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nAAEC==\r\n--XX--\r\n",
]


_MAIL_REQUESTS = 500
"""Requests a mail service holds before a fresh one takes over (queries stay quick)."""


def _mail_service() -> FulfillmentService:
    if _MAIL_SERVICES and len(_MAIL_SERVICES[0].store.query()) >= _MAIL_REQUESTS:
        _MAIL_SERVICES.clear()
    if not _MAIL_SERVICES:
        _MAIL_SERVICES.append(
            FulfillmentService(
                Catalog.from_dict(DEMO_CATALOG),
                store="memory://",
                clock=FixedClock(),
                load_entrypoints=False,
            )
        )
    return _MAIL_SERVICES[0]


_MAIL_SERVICES: list[FulfillmentService] = []


def receive_mail(raw: bytes) -> None:
    """Raw bytes through ``parse_email`` and ``service.receive``: read, or refused with a
    ``ValidationError`` that wrote nothing."""
    service = _mail_service()
    before = len(service.store.query())
    try:
        message = parse_email(raw)
        request = service.receive(message, requester=demo_requester())
    except ValidationError:
        assert len(service.store.query()) == before, "a refused mail wrote a request"
        raise
    assert message.message_id in request.messages
