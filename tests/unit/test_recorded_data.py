"""What a request records is JSON data, frozen once recorded: answers, automation results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    TaskState,
    ValidationError,
    Worker,
    hookimpl,
    lifecycle,
)
from reqfulfill.testing import demo_catalog, demo_requester

ERIN = demo_requester()
MANAGER = "max.manager"


def make(clock: FixedClock, *plugins: object, **options: Any) -> FulfillmentService:
    """A service on the demo catalog with ``plugins`` only (no entry points)."""
    options.setdefault("store", "memory://")
    return FulfillmentService(
        demo_catalog(), plugins=list(plugins), clock=clock, load_entrypoints=False, **options
    )


def test_answers_must_be_json_data(clock: FixedClock, store_url: str) -> None:
    service = make(clock, store=store_url)
    with pytest.raises(ValidationError) as info:
        service.submit(ERIN, "password-reset", Channel.PORTAL, {"tags": {"a", "b"}})
    assert info.value.paths == ["answers.tags"]
    with pytest.raises(ValidationError):
        service.submit(ERIN, "password-reset", Channel.PORTAL, {"when": datetime.now(UTC)})
    assert service.store.query() == []


def test_answers_cannot_be_changed_after_they_are_recorded(
    clock: FixedClock, store_url: str
) -> None:
    service = make(clock, store=store_url)
    answers = {"apps": ["mail"]}
    request = service.submit(ERIN, "password-reset", Channel.PORTAL, answers)
    answers["apps"].append("rm -rf")
    with pytest.raises(TypeError):
        request.answers["injected"] = True  # type: ignore[index]
    with pytest.raises(TypeError):
        request.answers["apps"].append("x")
    assert service.get(request.id).answers == {"apps": ["mail"]}
    assert lifecycle.replay(service.history(request.id)) == service.get(request.id)


def test_a_non_json_automation_result_fails_the_task_once(clock: FixedClock) -> None:
    calls: list[str] = []

    class Grants:
        @hookimpl
        def reqfulfill_run_automation(self, task, request, idempotency_key):  # type: ignore[no-untyped-def]
            calls.append(idempotency_key)
            return {"groups": {"crm-users"}}

    service = make(clock, Grants(), store="memory://")
    rid = service.submit(ERIN, "crm-access", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service, allow_missing=True).run_pending()
    task = service.get(rid).task("grant")
    assert task.state is TaskState.FAILED
    assert "not JSON data" in task.reason
    assert len(calls) == 1
