"""The commands of the worker and the SLA timer are refused to people, and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from reqfulfill import AuthorizationError, Channel, FixedClock, FulfillmentService, lifecycle
from reqfulfill.testing import demo_catalog, demo_requester

ERIN = demo_requester()
AGENT = "sam.agent"


def make(clock: FixedClock, *plugins: object, **options: Any) -> FulfillmentService:
    """A service on the demo catalog with ``plugins`` only (no entry points)."""
    options.setdefault("store", "memory://")
    return FulfillmentService(
        demo_catalog(), plugins=list(plugins), clock=clock, load_entrypoints=False, **options
    )


@pytest.mark.parametrize(
    "command",
    [
        lifecycle.AutoClose(actor="mallory"),
        lifecycle.FireSla(actor="mallory"),
        lifecycle.EffectFailed(actor=ERIN.id, effect_id="x", reason="x"),
        lifecycle.NotificationDelivered(actor=ERIN.id, effect_id="x"),
        lifecycle.RecordAttempt(actor=AGENT, effect_id="x"),
    ],
)
def test_worker_commands_are_for_the_worker_only(clock: FixedClock, command: object) -> None:
    service = make(clock)
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    service.complete_task(rid, "reset", AGENT)
    before = service.history(rid)
    with pytest.raises(AuthorizationError):
        service.execute(rid, command)  # type: ignore[arg-type]
    assert service.history(rid) == before
