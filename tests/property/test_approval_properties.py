"""Invariants of approval policies over random catalogs, requesters and steps.

- deciding is deterministic: the same state, command and context give the same events;
- replaying the events gives the state the decider worked on;
- a refused command changes nothing;
- a stage's approvers never include the requester, each approves once, and the stage
  completes exactly when ``needed`` approvals are in: one for ``any``, every approver
  it started with for ``all``, ``quorum`` for ``quorum``;
- the request is approved exactly when every stage is done or skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Context
from reqfulfill.model import events as ev
from reqfulfill.model.approval import ApprovalMode, StageState, pending_approvers
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel, RequestState
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.testing.strategies import catalogs_with_policies

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
APPROVERS = ("ann.approver", "bob.approver", "cy.approver")


def _delegates(on: bool) -> dict[str, str]:
    return {"ann.approver": "bob.approver", "mgr": "cy.approver"} if on else {}


def context(catalog: Catalog, now: datetime, delegates: dict[str, str]) -> Context:
    return Context(catalog, now, delegate=delegates.get if delegates else None)


def check_stages(state: ServiceRequest, history: list[Event]) -> None:
    started = {(e.stage, e.event_id): e for e in history if isinstance(e, ev.ApprovalStageStarted)}
    first = {}
    for _, event in sorted(started.items(), key=lambda kv: int(kv[0][1].rpartition("/")[2])):
        first.setdefault(event.stage, event)
    for stage in state.approval_stages:
        assert state.requester.id not in stage.approvers
        assert len(set(stage.approved_by)) == len(stage.approved_by)
        assert set(stage.approved_by) <= set(stage.approvers)
        if stage.state is StageState.SKIPPED:
            continue
        begun = first[stage.key]
        if begun.mode is ApprovalMode.ANY:
            assert stage.needed == 1
        elif begun.mode is ApprovalMode.ALL:
            assert stage.needed == len(begun.approvers)
        if stage.state is StageState.DONE:
            assert len(stage.approved_by) == stage.needed
        if stage.state is StageState.PENDING:
            assert len(stage.approved_by) < stage.needed
    approved = state.approval is not None and state.approval.approved
    if state.approval_stages and state.state is not RequestState.AWAITING_APPROVAL:
        everything_done = all(
            s.state in (StageState.DONE, StageState.SKIPPED) for s in state.approval_stages
        )
        assert approved == everything_done


steps = st.lists(
    st.tuples(
        st.sampled_from(["approve", "approve", "approve", "reject", "fire"]),
        st.sampled_from(["erin", "mgr", *APPROVERS, "stranger", "pick"]),
        st.integers(0, 30),
    ),
    max_size=12,
)


@given(
    catalog=catalogs_with_policies(max_items=3),
    manager=st.sampled_from([None, "mgr", "erin"]),
    cost=st.integers(0, 3000),
    delegation=st.booleans(),
    plan=steps,
    data=st.data(),
)
def test_approval_decisions(
    catalog: Catalog,
    manager: str | None,
    cost: int,
    delegation: bool,
    plan: list[tuple[str, str, int]],
    data: st.DataObject,
) -> None:
    items = [i for i in catalog.items if i.approval is not None]
    if not items:
        return
    item = data.draw(st.sampled_from(items))
    requester = Requester("erin", "Erin", "Finance", "HQ", manager=manager)
    delegates = _delegates(delegation)
    now = START
    submit = lifecycle.Submit(
        actor="erin",
        request_id="R-1",
        requester=requester,
        item=item.id,
        channel=Channel.PORTAL,
        answers={"cost": cost},
    )
    history = lifecycle.decide(None, submit, context(catalog, now, delegates))
    state = lifecycle.replay(history)
    for kind, who, hours in plan:
        now += timedelta(hours=hours)
        pending = pending_approvers(state)
        actor = pending[hours % len(pending)] if who == "pick" and pending else who
        command: lifecycle.Command
        if kind == "approve":
            command = lifecycle.Approve(actor=actor)
        elif kind == "reject":
            command = lifecycle.Reject(actor=actor, reason="no")
        else:
            command = lifecycle.FireApproval(actor=lifecycle.SYSTEM)
        ctx = context(catalog, now, delegates)
        try:
            new, after = lifecycle.decide_and_evolve(state, command, ctx)
        except ReqfulfillError:
            with_error = True
        else:
            with_error = False
            assert lifecycle.decide(state, command, ctx) == new  # deterministic
        if with_error:
            continue  # refused: the state is the one it was
        if kind == "approve" and new:
            assert actor in pending
            assert actor != requester.id
        history += new
        assert after is not None
        state = after
        assert lifecycle.replay(history) == state
        check_stages(state, history)
    check_stages(state, history)
    assert lifecycle.replay(history) == state
