"""Mermaid diagrams drawn from the code: the request lifecycle and an item's plan.

:func:`lifecycle_mermaid` draws :data:`reqfulfill.lifecycle.STATE_CHANGES` as a
``stateDiagram-v2``; :func:`plan_mermaid` draws the plan template of one
service item as a ``flowchart``. Both return text that Mermaid (GitHub,
the docs site, ``mmdc``) renders; ``reqfulfill diagram lifecycle`` and
``reqfulfill diagram plan CATALOG ITEM`` print them.

>>> print(lifecycle_mermaid().splitlines()[0])
stateDiagram-v2
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reqfulfill import lifecycle
from reqfulfill.model import events as ev
from reqfulfill.model.approval import ApprovalMode, ApprovalPolicy
from reqfulfill.model.catalog import Catalog, TaskTemplate
from reqfulfill.model.enums import RequestState, TaskKind
from reqfulfill.model.errors import NotFoundError

__all__ = ["lifecycle_edges", "lifecycle_mermaid", "plan_mermaid"]

_START = "[*]"

_FILLS: Mapping[TaskKind, str] = {
    TaskKind.MANUAL: "#e8f0fe",
    TaskKind.SUPPLIER_ORDER: "#fef3e0",
    TaskKind.DELIVERY: "#e6f4ea",
    TaskKind.AUTOMATED: "#f3e8fd",
    TaskKind.STOCK_OR_ORDER: "#fdf6d8",
}

_SHAPES: Mapping[TaskKind, tuple[str, str]] = {
    TaskKind.MANUAL: ("[", "]"),
    TaskKind.SUPPLIER_ORDER: ("[[", "]]"),
    TaskKind.DELIVERY: ("[/", "/]"),
    TaskKind.AUTOMATED: ("{{", "}}"),
    TaskKind.STOCK_OR_ORDER: ("[(", ")]"),
}
"""Node shape per task kind, so the kind reads at a glance (the label says it too)."""


def lifecycle_edges() -> list[tuple[str, str, str]]:
    """Every state change as ``(source, target, event name)``, in table order.

    ``source`` is ``"[*]"`` for the event that creates a request. The event
    whose target is "the state it waited in" (``RequestResumed``) gets one edge
    per state a request can wait from.

    >>> ("AWAITING_APPROVAL", "REJECTED", "RequestRejected") in lifecycle_edges()
    True
    """
    waited_in = sorted(
        (s for s in lifecycle.STATE_CHANGES[ev.RequestWaiting][0] if s is not None),
        key=_state_order,
    )
    edges: list[tuple[str, str, str]] = []
    for event_type, (sources, target) in lifecycle.STATE_CHANGES.items():
        ordered = sorted(sources, key=lambda s: -1 if s is None else _state_order(s))
        for source in ordered:
            name = _START if source is None else source.name
            targets = waited_in if target is None else [target]
            edges.extend((name, t.name, event_type.__name__) for t in targets)
    return edges


def lifecycle_mermaid() -> str:
    """The request state machine as a Mermaid ``stateDiagram-v2``.

    Each arrow is labelled with the event(s) that make the change; states with
    no way out (REJECTED, CLOSED, CANCELLED) lead to ``[*]``.
    """
    labels: dict[tuple[str, str], list[str]] = {}
    for source, target, event in lifecycle_edges():
        labels.setdefault((source, target), []).append(event)
    lines = [
        "stateDiagram-v2",
        "    %% generated from reqfulfill.lifecycle.STATE_CHANGES; do not edit",
    ]
    lines.extend(
        f"    {source} --> {target} : {', '.join(events)}"
        for (source, target), events in labels.items()
    )
    for state in RequestState:
        if not lifecycle.TRANSITIONS[state]:
            lines.append(f"    {state.name} --> {_START}")
    return "\n".join(lines) + "\n"


def plan_mermaid(catalog: Catalog, item_id: str) -> str:
    """The plan template of service item ``item_id`` as a Mermaid ``flowchart``.

    One node per task (its key, title and kind; the shape also shows the
    kind), an arrow for each ``after`` dependency, ``start`` and ``done`` nodes
    around the DAG. A conditional task (one with ``when``) is drawn dashed with
    its condition, and so are the arrows into and out of it: it is only in the
    plan when its condition holds when the plan starts. An item with an approval
    policy shows its stages first, in order, between ``start`` and the plan (a
    conditional stage dashed the same way).

    :raises NotFoundError: the catalog has no such item (the message lists the
        items it has).
    """
    if not catalog.has_item(item_id):
        known = ", ".join(sorted(i.id for i in catalog.items)) or "no items"
        raise NotFoundError(
            "service item",
            item_id,
            f"service item {item_id!r} not found; the catalog has: {known}",
        )
    item = catalog.item(item_id)
    plan = catalog.plan(item.plan)
    ids = {task.key: f"t{index}" for index, task in enumerate(plan.tasks)}
    conditional = {task.key for task in plan.tasks if task.when is not None}
    lines = [
        "flowchart TD",
        f"    %% plan {_text(plan.id)} of item {_text(item.id)}; generated, do not edit",
        "    start((start))",
        "    done((done))",
    ]
    entry, after_condition = "start", False
    if item.approval is not None and catalog.has_approval_policy(item.approval):
        entry, after_condition = _stages(catalog.approval_policy(item.approval), lines)
    for task in plan.tasks:
        opening, closing = _SHAPES[task.kind]
        lines.append(f'    {ids[task.key]}{opening}"{_label(task)}"{closing}')
    followed = {dep for task in plan.tasks for dep in task.after}
    for task in plan.tasks:
        node = ids[task.key]
        if not task.after:
            lines.append(f"    {entry} {_arrow(after_condition or task.key in conditional)} {node}")
        for dep in task.after:
            dashed = dep in conditional or task.key in conditional
            target = ids.get(dep)
            if target is None:  # Catalog.problems() rejects this; draw it rather than fail
                target = f"missing_{len(lines)}"
                lines.append(f'    {target}["{_text(dep)} (unknown task)"]')
            lines.append(f"    {target} {_arrow(dashed)} {node}")
    for task in plan.tasks:
        if task.key not in followed:
            lines.append(f"    {ids[task.key]} {_arrow(task.key in conditional)} done")
    for kind in TaskKind:
        members = [ids[t.key] for t in plan.tasks if t.kind is kind]
        if members:
            lines.append(f"    class {','.join(members)} {kind.value}")
            lines.append(f"    classDef {kind.value} fill:{_FILLS[kind]}")
    if conditional:
        lines.append(f"    class {','.join(ids[k] for k in sorted(conditional))} conditional")
        lines.append("    classDef conditional stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"


def _stages(policy: ApprovalPolicy, lines: list[str]) -> tuple[str, bool]:
    """Draw ``policy``'s stages in a chain after ``start``; return the last node's id and
    whether that stage is conditional (the arrows out of it are dashed)."""
    entry = "start"
    dashed = False
    for index, stage in enumerate(policy.stages):
        node = f"a{index}"
        needed = {ApprovalMode.ANY: "any one", ApprovalMode.ALL: "all"}.get(
            stage.mode, f"{stage.quorum} of them"
        )
        parts = [
            f"<b>approval: {_text(stage.key)}</b>",
            _text(stage.approvers.describe()),
            f"<i>{needed}</i>",
        ]
        if stage.when is not None:
            parts.append(f"only when {_text(_condition(stage.when))}")
        lines.append(f'    {node}{{{{"{"<br/>".join(parts)}"}}}}')
        lines.append(f"    {entry} {_arrow(dashed or stage.when is not None)} {node}")
        dashed = stage.when is not None
        entry = node
    members = ",".join(f"a{i}" for i in range(len(policy.stages)))
    lines.append(f"    class {members} approval")
    lines.append("    classDef approval fill:#fde2e4")
    return entry, dashed


def _state_order(state: RequestState) -> int:
    return list(RequestState).index(state)


def _arrow(dashed: bool) -> str:
    return "-.->" if dashed else "-->"


def _label(task: TaskTemplate) -> str:
    parts = [f"<b>{_text(task.key)}</b>", _text(task.title), f"<i>{task.kind.value}</i>"]
    if task.group is not None:
        parts.append(f"group: {_text(task.group)}")
    if task.supplier is not None:
        parts.append(f"supplier: {_text(task.supplier)}")
    if task.when is not None:
        parts.append(f"only when {_text(_condition(task.when))}")
    return "<br/>".join(parts)


def _condition(when: Mapping[str, Any]) -> str:
    return json.dumps(when, sort_keys=True, separators=(", ", ": "), default=str)


def _text(value: str) -> str:
    """Escape text for a quoted Mermaid label (entity codes, as Mermaid expects)."""
    return (
        value.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )
