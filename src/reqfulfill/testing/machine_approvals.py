"""The approval steps of :class:`~reqfulfill.testing.machine.FulfillmentMachine`: a mixin
it inherits (hypothesis collects ``@rule`` s from base classes).

With a catalog whose items name approval policies, the machine's requests go through
stages: approvers approve or reject the pending stage (mostly a pending approver, now
and then someone who already approved, the requester or anyone), approvers go on leave
and come back (a ``reqfulfill_delegate`` plugin the mixin registers on the service), and
the clock jumps to a stage's reminder or expiry for the worker to fire. With a catalog
without policies these rules never run (their preconditions are false).

Who may approve is the machine's role oracle (``role_allows``): a pending approver of
the current stage, never the requester.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from reqfulfill._hooks import hookimpl
from reqfulfill.model.approval import current_stage
from reqfulfill.model.enums import RequestState
from reqfulfill.model.request import ServiceRequest

if TYPE_CHECKING:
    from reqfulfill.clock import FixedClock
    from reqfulfill.model.catalog import Catalog, Requester
    from reqfulfill.service import FulfillmentService

__all__ = ["ApprovalSteps", "LeaveBoard"]


class LeaveBoard:
    """Who is on leave and who approves in their place (the ``reqfulfill_delegate``
    hook, answered from ``away``)."""

    def __init__(self) -> None:
        self.away: dict[str, str] = {}

    @hookimpl
    def reqfulfill_delegate(self, actor: str, at: datetime) -> str | None:
        """The deputy of an approver on leave."""
        return self.away.get(actor)


class ApprovalSteps:
    """Approve, reject, delegate and expire steps for requests under approval policies."""

    if TYPE_CHECKING:
        service: FulfillmentService
        clock: FixedClock
        actors: tuple[str, ...]
        _catalog: Catalog
        _requesters: list[Requester]
        _states: dict[str, ServiceRequest]

        def _run(
            self,
            command: str,
            request_id: str,
            actor: str,
            call: Callable[[], ServiceRequest],
            task_key: str | None = None,
        ) -> None: ...

        def _work(self, limit: int | None = None) -> None: ...

    leave: LeaveBoard | None = None

    def _staged(self) -> list[str]:
        """The requests waiting in a stage of an approval policy."""
        return [
            rid
            for rid, state in self._states.items()
            if state.state is RequestState.AWAITING_APPROVAL
            and current_stage(state.approval_stages) is not None
        ]

    def _timed(self) -> list[str]:
        """Staged requests whose stage has a reminder or an expiry to come."""
        out = []
        for rid in self._staged():
            stage = current_stage(self._states[rid].approval_stages)
            if stage is not None and (
                stage.expire_at is not None or (stage.remind_at and not stage.reminded)
            ):
                out.append(rid)
        return out

    def _stage_actor(self, data: st.DataObject, state: ServiceRequest) -> str:
        stage = current_stage(state.approval_stages)
        pending = list(stage.pending) if stage is not None else []
        done = list(stage.approved_by) if stage is not None else []
        choices = st.sampled_from(self.actors)
        if pending:
            choices = st.sampled_from(pending) | st.sampled_from(pending) | choices
        if done:
            choices = choices | st.sampled_from(done)
        return data.draw(choices | st.just(state.requester.id), label="stage actor")

    @precondition(lambda self: bool(self._staged()))
    @rule(data=st.data(), approve=st.booleans())
    def decide_stage(self, data: st.DataObject, approve: bool) -> None:
        """An approver of the pending stage approves it (or, sometimes, rejects)."""
        request = data.draw(st.sampled_from(self._staged()), label="request")
        actor = self._stage_actor(data, self._states[request])
        if approve:
            self._run("approve", request, actor, lambda: self.service.approve(request, actor))
        else:
            call = lambda: self.service.reject(request, actor, "not this time")  # noqa: E731
            self._run("reject", request, actor, call)

    @precondition(lambda self: bool(self._catalog.approval_policies))
    @rule(data=st.data())
    def go_on_leave(self, data: st.DataObject) -> None:
        """An approver goes on leave with a deputy (maybe the requester: then nobody
        approves in their place), or comes back; stages that start now see it."""
        if self.leave is None:
            self.leave = LeaveBoard()
            self.service.plugins.pm.register(self.leave)
        approvers = sorted(
            {r.manager for r in self._requesters if r.manager}
            | {
                a
                for policy in self._catalog.approval_policies
                for stage in policy.stages
                for a in stage.approvers.actors
            }
        )
        likely = st.sampled_from(approvers) if approvers else st.sampled_from(self.actors)
        actor = data.draw(likely | st.sampled_from(self.actors), label="away")
        if actor in self.leave.away:
            del self.leave.away[actor]
            return
        deputy = data.draw(st.sampled_from(self.actors), label="deputy")
        if deputy != actor and deputy not in self.leave.away:
            self.leave.away[actor] = deputy

    @precondition(lambda self: bool(self._timed()))
    @rule(data=st.data())
    def approval_falls_due(self, data: st.DataObject) -> None:
        """Nobody answers: the clock reaches the stage's reminder or expiry, and the
        worker fires the approval timer."""
        request = data.draw(st.sampled_from(self._timed()), label="request")
        stage = current_stage(self._states[request].approval_stages)
        assert stage is not None
        times = [t for t in (stage.remind_at, stage.expire_at) if t is not None]
        due = min(times)
        if due > self.clock.now():
            self.clock.set(due)
        self._work()
