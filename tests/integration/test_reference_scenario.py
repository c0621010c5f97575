"""The reference scenario end to end, on the memory and the SQLite store."""

from __future__ import annotations

import subprocess
import sys

from reqfulfill import RequestState, lifecycle
from reqfulfill.demo import play_reference_scenario, timeline
from reqfulfill.model import events as ev


def test_reference_scenario(store_url: str) -> None:
    service, request = play_reference_scenario(store_url)
    assert request.state is RequestState.CLOSED
    assert request.group == "service-desk"
    assert request.agent == "sam.agent"
    assert request.category == "Hardware/Mobile"
    assert request.feedback is not None
    assert request.feedback.rating == 5
    assert not request.sla.breached
    history = service.history(request.id)
    assert lifecycle.replay(history) == request
    kinds = [type(e) for e in history]
    for expected in (
        ev.RequestApproved,
        ev.RequestAssigned,
        ev.RequestCategorized,
        ev.RequestPrioritized,
        ev.RequestClaimed,
        ev.SupplierOrderPlaced,
        ev.ItemShipped,
        ev.ItemDelivered,
        ev.RequestFulfilled,
        ev.RequestClosed,
        ev.FeedbackRecorded,
    ):
        assert expected in kinds, expected
    # the requester was told the request is closed
    notified = [e for e in history if isinstance(e, ev.RequesterNotified)]
    assert "request_closed" in {e.kind for e in notified}
    # every effect was run: nothing left in the outbox
    assert (
        service.store.claim_effects(
            request.updated_at.replace(year=2100), worker="t", lease=request.sla.used
        )
        == []
    )
    lines = timeline(history)
    assert len(lines) == len(history)
    assert any("rule: item default" in line for line in lines)


def test_demo_command_prints_the_timeline() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reqfulfill", "demo"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "approved" in result.stdout
    assert "Final state: closed" in result.stdout


def test_demo_keeps_its_database_when_asked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "demo.db"
    result = subprocess.run(
        [sys.executable, "-m", "reqfulfill", "demo", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()
    assert '"state": "closed"' in result.stdout
