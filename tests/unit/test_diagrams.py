"""The Mermaid diagrams are drawn from the code: nothing in the table is left out."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from _catalogs import conditional_catalog

from reqfulfill import NotFoundError, lifecycle
from reqfulfill.cli.diagram import add_commands
from reqfulfill.diagrams import lifecycle_edges, lifecycle_mermaid, plan_mermaid
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import RequestState, TaskKind
from reqfulfill.model.events import RequestWaiting
from reqfulfill.testing import demo_catalog

ROOT = Path(__file__).resolve().parents[2]
EDGE = re.compile(r"^\s+(\S+) (-->|-\.->) (\S+)$", re.MULTILINE)
STATE_EDGE = re.compile(r"^\s+(\S+) --> (\S+)(?: : (.+))?$", re.MULTILINE)


def state_edges(text: str) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for source, target, labels in STATE_EDGE.findall(text):
        found.setdefault((source, target), set()).update(filter(None, labels.split(", ")))
    return found


def plan_nodes(text: str) -> dict[str, str]:
    """Node id -> task key, from the bold key in each task's label."""
    return dict(re.findall(r"^\s+(t\d+)\W+\"<b>([^<]+)</b>", text, re.MULTILINE))


def plan_edges(text: str) -> set[tuple[str, str, str]]:
    nodes = {**plan_nodes(text), "start": "start", "done": "done"}
    return {(nodes[a], arrow, nodes[b]) for a, arrow, b in EDGE.findall(text)}


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="reqfulfill")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


# -- lifecycle ------------------------------------------------------------------------------


def test_lifecycle_is_a_state_diagram() -> None:
    assert lifecycle_mermaid().startswith("stateDiagram-v2\n")


def test_every_state_change_appears_with_its_event() -> None:
    edges = state_edges(lifecycle_mermaid())
    for event_type, (sources, target) in lifecycle.STATE_CHANGES.items():
        for source in sources:
            start = "[*]" if source is None else source.name
            targets = (
                [target.name]
                if target is not None
                else [s.name for s in lifecycle.STATE_CHANGES[RequestWaiting][0] if s]
            )
            for name in targets:
                assert event_type.__name__ in edges[(start, name)], (start, name, event_type)


def test_every_transition_appears_and_no_other() -> None:
    drawn = {pair for pair in state_edges(lifecycle_mermaid()) if "[*]" not in pair}
    table = {(s.name, t.name) for s, targets in lifecycle.TRANSITIONS.items() for t in targets}
    assert drawn == table


def test_terminal_states_end_and_only_they_do() -> None:
    ends = {s for s, t in state_edges(lifecycle_mermaid()) if t == "[*]"}
    assert ends == {s.name for s, targets in lifecycle.TRANSITIONS.items() if not targets}
    assert ends == {"REJECTED", "CLOSED", "CANCELLED"}


def test_every_state_is_drawn() -> None:
    drawn = {name for pair in state_edges(lifecycle_mermaid()) for name in pair}
    assert {s.name for s in RequestState} <= drawn


def test_lifecycle_edges_match_the_diagram() -> None:
    edges = state_edges(lifecycle_mermaid())
    for source, target, event in lifecycle_edges():
        assert event in edges[(source, target)]


# -- plans ----------------------------------------------------------------------------------


def test_phone_plan_has_every_task_kind_and_edge() -> None:
    catalog = demo_catalog()
    text = plan_mermaid(catalog, "iphone-15")
    assert text.startswith("flowchart TD\n")
    plan = catalog.plan(catalog.item("iphone-15").plan)
    nodes = plan_nodes(text)
    assert sorted(nodes.values()) == sorted(t.key for t in plan.tasks)
    for task in plan.tasks:
        assert task.title in text
        assert f"<i>{task.kind.value}</i>" in text
    edges = {(a, b) for a, _, b in plan_edges(text)}
    for task in plan.tasks:
        for dep in task.after:
            assert (dep, task.key) in edges


@pytest.mark.parametrize("item", [i.id for i in demo_catalog().items])
def test_every_demo_plan_is_drawn_whole(item: str) -> None:
    catalog = demo_catalog()
    plan = catalog.plan(catalog.item(item).plan)
    text = plan_mermaid(catalog, item)
    edges = {(a, b) for a, _, b in plan_edges(text)}
    expected = {(dep, t.key) for t in plan.tasks for dep in t.after}
    expected |= {("start", t.key) for t in plan.tasks if not t.after}
    followed = {dep for t in plan.tasks for dep in t.after}
    expected |= {(t.key, "done") for t in plan.tasks if t.key not in followed}
    assert edges == expected


def test_conditional_task_is_dashed_and_labelled() -> None:
    text = plan_mermaid(conditional_catalog(), "iphone-15")
    edges = plan_edges(text)
    assert ("start", "-.->", "order") in edges  # order only when not from stock
    assert ("order", "-.->", "prepare") in edges
    assert ("prepare", "-->", "deliver") in edges
    assert "only when" in text
    assert "answers.from_stock" in text
    assert "classDef conditional stroke-dasharray" in text
    order_node = next(n for n, k in plan_nodes(text).items() if k == "order")
    assert re.search(rf"^\s+class {order_node} conditional$", text, re.MULTILINE)


def parallel_catalog() -> Catalog:
    return Catalog.from_dict(
        {
            "groups": [{"id": "desk", "name": "Desk"}],
            "plans": [
                {
                    "id": "onboard",
                    "tasks": [
                        {"key": "account", "kind": "automated", "title": 'Create "AD" account'},
                        {
                            "key": "laptop",
                            "kind": "supplier_order",
                            "title": "Order <laptop>",
                            "supplier": "acme",
                        },
                        {
                            "key": "ship",
                            "kind": "delivery",
                            "title": "Ship",
                            "after": ["laptop", "account"],
                        },
                        {"key": "welcome", "kind": "manual", "title": "Welcome", "after": ["ship"]},
                    ],
                }
            ],
            "items": [
                {
                    "id": "new-hire",
                    "name": "New hire",
                    "category": "HR",
                    "group": "desk",
                    "impact": "medium",
                    "urgency": "medium",
                    "plan": "onboard",
                }
            ],
        }
    )


def test_parallel_branches_join() -> None:
    text = plan_mermaid(parallel_catalog(), "new-hire")
    edges = {(a, b) for a, _, b in plan_edges(text)}
    assert edges == {
        ("start", "account"),
        ("start", "laptop"),
        ("account", "ship"),
        ("laptop", "ship"),
        ("ship", "welcome"),
        ("welcome", "done"),
    }
    for kind in {t.kind for t in parallel_catalog().plan("onboard").tasks}:
        assert f"<i>{kind.value}</i>" in text
    assert "-.->" not in text


def test_every_task_kind_has_a_shape_and_a_fill() -> None:
    data = parallel_catalog().to_dict()
    data["plans"][0]["tasks"] = [
        {"key": kind.value, "kind": kind.value, "title": kind.name, "supplier": "acme"}
        for kind in TaskKind
    ]
    text = plan_mermaid(Catalog.from_dict(data), "new-hire")
    for kind in TaskKind:
        assert f"<i>{kind.value}</i>" in text
        assert f"class t{list(TaskKind).index(kind)} {kind.value}" in text


def test_labels_are_escaped() -> None:
    text = plan_mermaid(parallel_catalog(), "new-hire")
    assert "#quot;AD#quot;" in text
    assert "#lt;laptop#gt;" in text
    assert '"AD"' not in text


def test_unknown_item_is_a_clear_error() -> None:
    with pytest.raises(NotFoundError, match=r"'nope' not found; the catalog has: crm-access"):
        plan_mermaid(demo_catalog(), "nope")


# -- command line ---------------------------------------------------------------------------


def test_cli_lifecycle_prints_the_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("diagram", "lifecycle") == 0
    assert capsys.readouterr().out == lifecycle_mermaid()


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_cli_plan_prints_the_diagram(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if suffix == ".toml":
        path = ROOT / "examples" / "catalog.toml"
    else:
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(demo_catalog().to_dict()), encoding="utf-8")
    assert run_cli("diagram", "plan", str(path), "iphone-15") == 0
    assert capsys.readouterr().out == plan_mermaid(demo_catalog(), "iphone-15")


def test_cli_unknown_item_exits_2_with_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(demo_catalog().to_dict()), encoding="utf-8")
    assert run_cli("diagram", "plan", str(path), "nope") == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "'nope' not found" in err


def test_cli_missing_file_exits_2_with_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.toml"
    assert run_cli("diagram", "plan", str(path), "iphone-15") == 2
    assert f"{path}: cannot read file" in capsys.readouterr().err


def test_cli_invalid_catalog_exits_2_with_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[items]]\nid = 1\n", encoding="utf-8")
    assert run_cli("diagram", "plan", str(path), "x") == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "items[0].id" in err


def test_cli_requires_a_diagram_kind() -> None:
    with pytest.raises(SystemExit):
        run_cli("diagram")
