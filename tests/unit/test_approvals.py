"""Approval policies (issue 17): stages in order, any / all / quorum, skipped stages,
who may approve, delegation, reminders and expiry through the worker's timers, and
``pending_approvals`` on every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reqfulfill import (
    AuthorizationError,
    Catalog,
    Channel,
    FixedClock,
    FulfillmentService,
    NotFoundError,
    Requester,
    RequestState,
    TransitionError,
    ValidationError,
    Worker,
    hookimpl,
    lifecycle,
)
from reqfulfill.model import events as ev
from reqfulfill.model.approval import StageState

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
ERIN = Requester("erin.user", "Erin User", "Finance", "HQ", manager="max.manager")


def catalog_data(**policy: Any) -> dict[str, Any]:
    """A catalog with a two-stage hardware policy (manager; finance quorum of 2 over
    1,500), an access policy (owner and security, both) and a plain phone."""
    hardware = {
        "id": "hardware",
        "stages": [
            {"key": "manager", "approvers": "manager"},
            {
                "key": "finance",
                "approvers": {"group": "finance"},
                "mode": "quorum",
                "quorum": 2,
                "when": {"answers.cost": {"gt": 1500}},
            },
        ],
        **policy,
    }
    return {
        "triage_group": "desk",
        "groups": [
            {"id": "desk", "name": "Desk", "members": ["sam.agent"]},
            {"id": "finance", "name": "Finance", "members": ["fay.fin", "fin.two", "erin.user"]},
        ],
        "plans": [{"id": "p", "tasks": [{"key": "do", "kind": "manual", "title": "Do it"}]}],
        "approval_policies": [
            hardware,
            {
                "id": "payroll",
                "stages": [
                    {"key": "owners", "approvers": ["olga.owner", "sec.sue"], "mode": "all"}
                ],
            },
        ],
        "items": [
            {
                "id": "laptop-pro",
                "name": "Laptop",
                "category": "Hardware",
                "group": "desk",
                "impact": "low",
                "urgency": "low",
                "plan": "p",
                "approval": "hardware",
            },
            {
                "id": "payroll-access",
                "name": "Payroll",
                "category": "Access",
                "group": "desk",
                "impact": "low",
                "urgency": "low",
                "plan": "p",
                "approval": "payroll",
            },
            {
                "id": "phone",
                "name": "Phone",
                "category": "Hardware",
                "group": "desk",
                "impact": "low",
                "urgency": "low",
                "plan": "p",
            },
        ],
    }


def make(
    store: str = "memory://", *plugins: object, clock: FixedClock | None = None, **policy: Any
) -> FulfillmentService:
    return FulfillmentService(
        Catalog.from_dict(catalog_data(**policy)),
        store=store,
        plugins=list(plugins),
        clock=clock or FixedClock(T0),
        load_entrypoints=False,
    )


def types(service: FulfillmentService, request_id: str) -> list[str]:
    return [e.type for e in service.history(request_id) if e.type != "NotificationRequested"]


def test_stages_run_in_order_and_the_last_one_approves(store_url: str) -> None:
    service = make(store_url)
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 2400})
    assert request.state is RequestState.AWAITING_APPROVAL
    assert [(s.key, s.state) for s in request.approval_stages] == [("manager", StageState.PENDING)]
    assert [r.request_id for r in service.pending_approvals("max.manager")] == [request.id]
    assert service.pending_approvals("fay.fin") == []
    request = service.approve(request.id, "max.manager")
    # the requester is in the finance group but never approves: 2 of 2 eligible needed
    stage = request.approval_stages[-1]
    assert (stage.key, stage.approvers, stage.needed) == ("finance", ("fay.fin", "fin.two"), 2)
    assert service.pending_approvals("max.manager") == []
    assert [r.request_id for r in service.pending_approvals("fin.two")] == [request.id]
    with pytest.raises(AuthorizationError):
        service.approve(request.id, "erin.user")
    request = service.approve(request.id, "fay.fin")
    assert request.state is RequestState.AWAITING_APPROVAL
    with pytest.raises(AuthorizationError, match="already approved"):
        service.approve(request.id, "fay.fin")
    request = service.approve(request.id, "fin.two")
    assert request.state is RequestState.IN_FULFILLMENT
    assert [(s.key, s.state, s.approved_by) for s in request.approval_stages] == [
        ("manager", StageState.DONE, ("max.manager",)),
        ("finance", StageState.DONE, ("fay.fin", "fin.two")),
    ]
    assert types(service, request.id)[:8] == [
        "RequestSubmitted",
        "ApprovalRequested",
        "ApprovalStageStarted",
        "ApprovalGiven",
        "ApprovalStageCompleted",
        "ApprovalStageStarted",
        "ApprovalGiven",
        "ApprovalGiven",
    ]
    assert "RequestApproved" in types(service, request.id)
    assert service.pending_approvals("fin.two") == []
    assert lifecycle.replay(service.history(request.id)) == request
    if not store_url.startswith("memory"):  # a fresh service on the same store reads it back
        again = make(store_url)
        assert again.get(request.id) == request
        assert [r.request_id for r in again.pending_approvals("fin.two")] == []


def test_a_stage_whose_condition_is_false_is_skipped_with_the_reason() -> None:
    service = make()
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 900})
    request = service.approve(request.id, "max.manager")
    assert request.state is RequestState.IN_FULFILLMENT
    skipped = request.approval_stages[-1]
    assert (skipped.key, skipped.state, skipped.reason) == (
        "finance",
        StageState.SKIPPED,
        "its condition is false",
    )
    assert any(isinstance(e, ev.ApprovalStageSkipped) for e in service.history(request.id))


def test_all_mode_needs_every_approver_and_a_rejection_ends_it() -> None:
    service = make()
    request = service.submit(ERIN, "payroll-access", Channel.PORTAL)
    request = service.approve(request.id, "olga.owner")
    assert request.state is RequestState.AWAITING_APPROVAL
    # an approver who approved may not reject any more; a stranger may not either
    for who in ("olga.owner", "max.manager"):
        with pytest.raises(AuthorizationError):
            service.reject(request.id, who, "no")
    before = service.history(request.id)
    with pytest.raises(AuthorizationError):
        service.approve(request.id, "max.manager")
    assert service.history(request.id) == before  # nothing written
    request = service.reject(request.id, "sec.sue", "not needed")
    assert request.state is RequestState.REJECTED
    assert request.approval_stages[-1].state is StageState.REJECTED
    with pytest.raises(TransitionError):
        service.approve(request.id, "sec.sue")


def test_items_without_a_policy_keep_the_single_stage_meaning() -> None:
    service = make()
    request = service.submit(ERIN, "phone", Channel.PORTAL)
    assert request.approval_stages == ()
    assert request.approvers == ("max.manager",)
    assert [r.request_id for r in service.pending_approvals("max.manager")] == [request.id]
    assert types(service, request.id)[:2] == ["RequestSubmitted", "ApprovalRequested"]
    request = service.approve(request.id, "max.manager")
    assert request.state is RequestState.IN_FULFILLMENT
    assert service.pending_approvals("max.manager") == []


def test_no_eligible_approver_rejects_naming_the_stage_unless_it_skips() -> None:
    no_manager = Requester("nia.new", "Nia", "Sales", "HQ")
    service = make()
    request = service.submit(no_manager, "laptop-pro", Channel.PORTAL, {"cost": 10})
    assert request.state is RequestState.REJECTED
    assert request.approval is not None
    assert "'manager'" in request.approval.reason
    data = catalog_data()
    data["approval_policies"][0]["stages"][0]["if_no_approver"] = "skip"
    skipping = FulfillmentService(
        Catalog.from_dict(data), store="memory://", clock=FixedClock(T0), load_entrypoints=False
    )
    request = skipping.submit(no_manager, "laptop-pro", Channel.PORTAL, {"cost": 10})
    assert request.state is RequestState.IN_FULFILLMENT  # both stages skipped


class OnLeave:
    """max.manager is on leave: dana.deputy approves in his place."""

    @hookimpl
    def reqfulfill_delegate(self, actor: str, at: datetime) -> str | None:
        return "dana.deputy" if actor == "max.manager" else None


def test_delegation_is_applied_when_the_stage_starts_and_recorded() -> None:
    service = make("memory://", OnLeave())
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    delegated = [e for e in service.history(request.id) if isinstance(e, ev.ApprovalDelegated)]
    assert [(e.stage, e.delegator, e.delegate) for e in delegated] == [
        ("manager", "max.manager", "dana.deputy")
    ]
    with pytest.raises(AuthorizationError):
        service.approve(request.id, "max.manager")
    assert service.approve(request.id, "dana.deputy").state is RequestState.IN_FULFILLMENT


class DelegatesToRequester:
    @hookimpl
    def reqfulfill_delegate(self, actor: str, at: datetime) -> str | None:
        return "erin.user"


def test_a_delegate_who_is_the_requester_never_approves() -> None:
    service = make("memory://", DelegatesToRequester())
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    assert request.state is RequestState.REJECTED


def test_reminder_once_then_expiry_rejects_through_the_worker(store_url: str) -> None:
    clock = FixedClock(T0)
    service = make(store_url, clock=clock, remind_after="8h", expire_after="24h")
    worker = Worker(service)
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    assert request.approval_stages[0].remind_at == T0 + timedelta(hours=8)
    clock.advance(hours=9)
    worker.run_pending()
    request = service.get(request.id)
    assert request.approval_stages[0].reminded
    reminders = [e for e in service.history(request.id) if isinstance(e, ev.ApprovalReminded)]
    assert [e.approvers for e in reminders] == [("max.manager",)]
    clock.advance(hours=1)
    worker.run_pending()
    assert len([e for e in service.history(request.id) if e.type == "ApprovalReminded"]) == 1
    clock.advance(hours=15)
    worker.run_pending()
    request = service.get(request.id)
    assert request.state is RequestState.REJECTED
    assert request.approval is not None
    assert request.approval.reason == "approval expired in stage manager"
    assert service.pending_approvals("max.manager") == []


def test_expiry_can_escalate_and_restart_the_clock() -> None:
    clock = FixedClock(T0)
    service = make(
        "memory://", clock=clock, expire_after="4h", on_expiry="escalate", escalate_to=["cio"]
    )
    worker = Worker(service)
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    clock.advance(hours=5)
    worker.run_pending()
    request = service.get(request.id)
    stage = request.approval_stages[-1]
    assert stage.approvers == ("max.manager", "cio")
    assert stage.expire_at == clock.now() + timedelta(hours=4)
    assert [r.request_id for r in service.pending_approvals("cio")] == [request.id]
    assert service.approve(request.id, "cio").state is RequestState.IN_FULFILLMENT


def test_pending_approvals_are_oldest_first_and_checked() -> None:
    clock = FixedClock(T0)
    service = make(clock=clock)
    first = service.submit(ERIN, "phone", Channel.PORTAL)
    clock.advance(minutes=5)
    second = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    assert [r.request_id for r in service.pending_approvals("max.manager")] == [
        first.id,
        second.id,
    ]
    assert [r.request_id for r in service.pending_approvals("max.manager", limit=1)] == [first.id]
    with pytest.raises(ValidationError):
        service.pending_approvals("")
    with pytest.raises(ValidationError):
        service.pending_approvals("max.manager", limit=-1)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["items"][0].update(approval="nope"), "items[0].approval"),
        (
            lambda d: d["approval_policies"][0]["stages"][1].update(mode="any"),
            "approval_policies[0].stages[1].quorum",
        ),
        (
            lambda d: d["approval_policies"][0]["stages"][1].update(quorum=4),
            "approval_policies[0].stages[1].quorum",
        ),
        (
            lambda d: d["approval_policies"][0]["stages"][1].update(key="manager"),
            "approval_policies[0].stages[1].key",
        ),
        (
            lambda d: d["approval_policies"][0]["stages"][1].update(approvers={"group": "x"}),
            "approval_policies[0].stages[1].approvers.group",
        ),
        (
            lambda d: d["approval_policies"][0]["stages"][0].update(approvers="boss"),
            "approval_policies[0].stages[0].approvers",
        ),
        (
            lambda d: d["approval_policies"][0].update(on_expiry="escalate"),
            "approval_policies[0].escalate_to",
        ),
        (
            lambda d: d["approval_policies"][0]["stages"][0].update(when={"nope": 1}),
            "approval_policies[0].stages[0].when.nope",
        ),
    ],
)
def test_a_malformed_policy_is_a_validation_error_naming_its_path(change: Any, path: str) -> None:
    data = catalog_data()
    change(data)
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(data)
    assert path in info.value.paths


def test_every_policy_problem_is_reported_at_once() -> None:
    data = catalog_data()
    data["items"][0]["approval"] = "nope"
    data["approval_policies"][0]["stages"][1]["quorum"] = 9
    data["approval_policies"][1]["stages"].append({"key": "owners", "approvers": ["x"]})
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(data)
    assert {
        "items[0].approval",
        "approval_policies[0].stages[1].quorum",
        "approval_policies[1].stages[1].key",
    } <= set(info.value.paths)


def test_a_policy_round_trips_through_its_data_form() -> None:
    catalog = Catalog.from_dict(catalog_data(expire_after="1d", remind_after="2h"))
    assert Catalog.from_dict(catalog.to_dict()) == catalog
    with pytest.raises(NotFoundError):
        catalog.approval_policy("nope")


def test_fire_approval_is_the_workers_alone() -> None:
    service = make()
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    with pytest.raises(AuthorizationError):
        service.execute(request.id, lifecycle.FireApproval(actor="max.manager"))


def test_an_approval_notice_to_someone_no_longer_pending_is_abandoned_unsent() -> None:
    clock = FixedClock(T0)
    service = make(clock=clock)
    worker = Worker(service)
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 2400})
    service.approve(request.id, "max.manager")
    service.approve(request.id, "fay.fin")
    worker.run_pending()
    history = service.history(request.id)
    sent = {e.recipient for e in history if isinstance(e, ev.NotificationSent)}
    abandoned = [e for e in history if isinstance(e, ev.EffectAbandoned)]
    assert sent == {"fin.two"}
    assert len(abandoned) == 2
    assert all("no longer waits for" in e.reason for e in abandoned)


def test_the_timeline_words_the_approval_events() -> None:
    from reqfulfill.demo import timeline

    service = make("memory://", OnLeave())
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    service.approve(request.id, "dana.deputy")
    text = "\n".join(timeline(service.history(request.id)))
    for phrase in (
        "stage manager: dana.deputy approves for max.manager",
        "stage manager started: 1 of dana.deputy (any)",
        "approved stage manager",
        "stage manager completed",
        "stage finance skipped: its condition is false",
    ):
        assert phrase in text


def test_a_request_triaged_to_an_item_with_a_policy_goes_through_its_stages() -> None:
    service = make()
    request = service.submit(ERIN, None, Channel.EMAIL, {"cost": 2400})
    request = service.triage(request.id, "sam.agent", item="laptop-pro")
    assert request.state is RequestState.AWAITING_APPROVAL
    assert [s.key for s in request.approval_stages] == ["manager"]
    assert [r.request_id for r in service.pending_approvals("max.manager")] == [request.id]


def test_reminders_and_expiry_count_business_time_on_the_sla_calendar() -> None:
    from reqfulfill.sla import SlaPolicy

    friday = datetime(2026, 3, 6, 12, tzinfo=UTC)  # 14:00 in Helsinki, two business hours left
    service = FulfillmentService(
        Catalog.from_dict(catalog_data(remind_after="4h", expire_after="8h")),
        sla=SlaPolicy.default(),
        store="memory://",
        clock=FixedClock(friday),
        load_entrypoints=False,
    )
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    stage = request.approval_stages[0]
    monday = datetime(2026, 3, 9, 6, tzinfo=UTC)  # 08:00 in Helsinki
    assert stage.remind_at == monday + timedelta(hours=2)
    assert stage.expire_at == monday + timedelta(hours=6)


def test_a_cancelled_request_waits_for_nobody_and_its_timer_does_nothing(store_url: str) -> None:
    clock = FixedClock(T0)
    service = make(store_url, clock=clock, expire_after="1h")
    worker = Worker(service)
    request = service.submit(ERIN, "laptop-pro", Channel.PORTAL, {"cost": 10})
    service.cancel(request.id, "erin.user", "changed my mind")
    assert service.pending_approvals("max.manager") == []
    clock.advance(hours=2)
    before = len(service.history(request.id))
    assert service.execute(request.id, lifecycle.FireApproval(actor=lifecycle.SYSTEM)).state is (
        RequestState.CANCELLED
    )
    assert len(service.history(request.id)) == before
    worker.run_pending()
    assert service.get(request.id).state is RequestState.CANCELLED
    assert not [e for e in service.history(request.id) if e.type == "ApprovalExpired"]


def test_the_requester_listed_as_approver_is_left_out_of_the_stage() -> None:
    data = catalog_data()
    data["approval_policies"][1]["stages"][0]["approvers"] = ["erin.user", "sec.sue"]
    service = FulfillmentService(
        Catalog.from_dict(data), store="memory://", clock=FixedClock(T0), load_entrypoints=False
    )
    request = service.submit(ERIN, "payroll-access", Channel.PORTAL)
    assert request.approval_stages[0].approvers == ("sec.sue",)
    assert request.approval_stages[0].needed == 1  # all of the eligible ones
    assert service.approve(request.id, "sec.sue").state is RequestState.IN_FULFILLMENT


def test_an_unknown_policy_is_named_even_when_another_part_does_not_structure() -> None:
    data = catalog_data()
    data["items"][0]["approval"] = "nope"
    data["approval_policies"][0]["stages"][0]["mode"] = "most"
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(data)
    assert {"items[0].approval", "approval_policies[0].stages[0].mode"} <= set(info.value.paths)
