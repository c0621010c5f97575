"""What the state machine watches the worker run: every notification sent, automation
run and supplier order placed, with the request as the store holds it at that moment,
checked against :func:`surely_unwanted`, an oracle written out on its own (not from
:mod:`reqfulfill.lifecycle.wanted`): the effects a request surely no longer wants.

The machine is single-threaded, so the request the store holds when a plugin is
called is the request as it stands when the effect runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from reqfulfill._hooks import hookimpl
from reqfulfill.model.enums import RequestState, TaskState
from reqfulfill.model.request import ServiceRequest, Task
from reqfulfill.model.supplier import Notification, OrderReceipt, SupplierOrder
from reqfulfill.testing._fake_supplier import FakeSupplier

__all__ = ["EffectWatch", "WatchedSupplier", "surely_unwanted"]

_WORKED_ON = (RequestState.IN_FULFILLMENT, RequestState.WAITING)


def _task_effect(state: ServiceRequest, task_key: str, key: str) -> str | None:
    if state.state not in _WORKED_ON:
        return f"the request is {state.state.value}"
    task = next((t for t in state.plan if t.key == task_key), None)
    if task is None or task.state is not TaskState.IN_PROGRESS:
        return f"task {task_key!r} is {task.state.value if task else 'gone'}"
    if task.order_effect != key:
        return f"task {task_key!r} runs {task.order_effect} now"
    return None


def surely_unwanted(
    state: ServiceRequest, *, key: str, task_key: str | None = None, notice: str | None = None
) -> str | None:
    """Why ``state`` surely does not want effect ``key`` run (an automation or an order
    of ``task_key``, or a notification of kind ``notice``); None when it may.

    An order or an automation is wanted only while the request is worked on, its task
    is in progress and this is the task's current effect; a repeated attempt of an
    order (an earlier one may have reached the supplier) is the compensation, and may
    run. "Approval needed" is wanted only while the request awaits approval; "task
    failed" and "delivery disputed" only while the request is worked on; SLA warnings
    and escalations only while the request is open.
    """
    if notice is None:
        assert task_key is not None
        if state.attempted.get(key, 0) > 1:
            return None
        return _task_effect(state, task_key, key)
    if notice == "approval_requested" and state.state is not RequestState.AWAITING_APPROVAL:
        return f"approval asked of a request {state.state.value}"
    if notice in ("task_failed", "delivery_disputed") and state.state not in _WORKED_ON:
        return f"{notice} notice for a request {state.state.value}"
    if notice in ("sla_warning", "sla_manager_warning", "escalated") and not state.state.open:
        return f"{notice} notice for a request {state.state.value}"
    return None


class EffectWatch:
    """The machine's notifier and automation runner (every automation succeeds); it also
    hears of every order its :class:`WatchedSupplier` places. ``read`` gives a request
    as the store now holds it (set once the service exists); ``runs`` counts the
    effects run by kind; ``violations`` lists each effect run that the request surely
    no longer wanted (:func:`surely_unwanted`); ``keys`` the automations' keys."""

    def __init__(self) -> None:
        self.read: Callable[[str], ServiceRequest] | None = None
        self.runs: Counter[str] = Counter()
        self.violations: list[str] = []
        self.keys: list[str] = []

    def _check(self, what: str, request_id: str, key: str, **effect: Any) -> None:
        self.runs[what] += 1
        if self.read is None:
            return
        state = self.read(request_id)
        why = surely_unwanted(state, key=key, **effect)
        if why is not None:
            self.violations.append(
                f"{what} {key} ran though {request_id} no longer wanted it: {why}"
            )

    @hookimpl
    def reqfulfill_notify(self, notification: Notification) -> None:
        """Check the notification against the request as it stands."""
        self._check(
            "notification", notification.request_id, notification.key, notice=notification.kind
        )

    @hookimpl
    def reqfulfill_run_automation(
        self, task: Task, request: ServiceRequest, idempotency_key: str
    ) -> Mapping[str, Any] | None:
        """Check the automation against the request as it stands, then succeed."""
        self.keys.append(idempotency_key)
        self._check("automation", request.id, idempotency_key, task_key=task.key)
        return {"done": task.key}

    def order_placed(self, order: SupplierOrder, key: str) -> None:
        """A :class:`WatchedSupplier` is placing ``order``: check it."""
        self._check("order", order.request_id, key, task_key=order.task_key)


class WatchedSupplier(FakeSupplier):
    """A :class:`FakeSupplier` that tells an :class:`EffectWatch` of each order placed."""

    def __init__(self, supplier_id: str, watch: EffectWatch, **options: Any) -> None:
        super().__init__(supplier_id, **options)
        self.watch = watch

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        """Tell the watch, then place the order like a fake supplier."""
        self.watch.order_placed(order, idempotency_key)
        return super().place_order(order, idempotency_key)
