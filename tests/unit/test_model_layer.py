"""The model is the bottom layer: it imports nothing from the layers above it and reads
no files (``Catalog.from_toml`` is an entry point to :mod:`reqfulfill.serialization`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import reqfulfill.model

MODEL = Path(reqfulfill.model.__file__).parent
FILE_SYSTEM = ("tomllib", "pathlib", "io", "shutil", "sqlite3")


def imported(path: Path) -> list[str]:
    """Every module ``path`` imports, inside functions too."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", sorted(MODEL.glob("*.py")), ids=lambda p: p.name)
def test_the_model_imports_nothing_above_it_and_no_file_access(path: Path) -> None:
    modules = imported(path)
    ours = [m for m in modules if m == "reqfulfill" or m.startswith("reqfulfill.")]
    assert [m for m in ours if not m.startswith("reqfulfill.model.")] == []
    assert [m for m in modules if m.split(".")[0] in FILE_SYSTEM] == []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    assert "open" not in calls


def _built_per_decision() -> list[object]:
    """One instance of each frozen class built per decision or append without slots."""
    from datetime import UTC, datetime

    from reqfulfill import lifecycle
    from reqfulfill.model.enums import Channel, TaskKind
    from reqfulfill.model.request import SlaStatus, Task
    from reqfulfill.stores import OutboxEntry, RequestSummary
    from reqfulfill.stores._facts import MetricFacts
    from reqfulfill.testing import demo_catalog, demo_requester

    at = datetime(2026, 3, 2, tzinfo=UTC)
    submit = lifecycle.Submit(
        actor="erin.user",
        request_id="REQ-1",
        requester=demo_requester(),
        item="password-reset",
        channel=Channel.PORTAL,
    )
    state = lifecycle.evolve(None, lifecycle.submitted_event(submit, at))
    return [
        state,
        Task(key="a", kind=TaskKind.MANUAL, title="A"),
        SlaStatus(),
        RequestSummary.of(state),
        MetricFacts(),
        OutboxEntry("REQ-1/2", "REQ-1", "NotificationRequested", 0, at),
        lifecycle.Context(catalog=demo_catalog(), now=at),
    ]


@pytest.mark.parametrize("value", _built_per_decision(), ids=lambda v: type(v).__name__)
def test_the_classes_kept_without_slots_are_still_frozen(value: object) -> None:
    import attrs

    name = attrs.fields(type(value))[0].name
    before = getattr(value, name)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, name, None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        delattr(value, name)
    assert getattr(value, name) is before
    assert attrs.evolve(value) == value
