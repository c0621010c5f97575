"""Walks over a plan's ``after`` graph work at any size and depth, without recursion.

A plan of thousands of tasks listed in reverse order (each waits for the next) loads,
is checked by ``reqfulfill check`` and drawn by ``reqfulfill diagram plan``; closing it
into a cycle is reported with its path. ``kept_dependencies`` (the plan once
conditional tasks are left out) agrees with the plain recursive definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.cli import main
from reqfulfill.model.catalog import Catalog, PlanTemplate, TaskTemplate, kept_dependencies
from reqfulfill.model.enums import TaskKind
from reqfulfill.model.errors import ValidationError


def reversed_chain(size: int, *, cycle: bool = False) -> dict[str, Any]:
    """A catalog whose one plan lists ``size`` tasks, each after the next one."""
    tasks: list[dict[str, Any]] = [
        {"key": f"t{i}", "kind": "manual", "title": f"step {i}", "after": [f"t{i + 1}"]}
        for i in range(size - 1)
    ]
    tasks.append({"key": f"t{size - 1}", "kind": "manual", "title": "first", "after": []})
    if cycle:
        tasks[-1]["after"] = ["t0"]
    return {
        "groups": [{"id": "desk", "name": "Desk", "members": ["ann"]}],
        "plans": [{"id": "long", "tasks": tasks}],
        "items": [
            {
                "id": "thing",
                "name": "Thing",
                "category": "Misc",
                "group": "desk",
                "impact": "low",
                "urgency": "low",
                "plan": "long",
                "requires_approval": False,
            }
        ],
    }


@pytest.mark.parametrize("size", [1_200, 5_000])
def test_a_long_plan_in_reverse_order_loads(size: int) -> None:
    catalog = Catalog.from_dict(reversed_chain(size))
    plan = catalog.plan("long")
    assert len(plan.tasks) == size
    assert plan.task("t0").after == ("t1",)


@pytest.mark.parametrize("size", [1_200, 5_000])
def test_a_long_cycle_is_reported_with_its_path_and_a_short_message(size: int) -> None:
    with pytest.raises(ValidationError) as caught:
        Catalog.from_dict(reversed_chain(size, cycle=True))
    (problem,) = caught.value.problems
    assert problem.path == "plans[0].tasks[0].after"
    assert problem.value == [f"t{i}" for i in range(size)] + ["t0"]
    assert problem.reason.endswith(f"-> t0 ({size} tasks)")
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize("size", [1_200, 5_000])
def test_check_and_diagram_take_a_long_plan(
    size: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(reversed_chain(size)), encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text("{}", encoding="utf-8")
    assert main(["check", str(catalog), str(rules)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 error(s), 0 warning(s): ok")
    assert main(["diagram", "plan", str(catalog), "thing"]) == 0
    assert capsys.readouterr().out.count(" --> ") == size + 1  # the chain, start and done


def test_check_reports_a_long_cycle_as_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(reversed_chain(5_000, cycle=True)), encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text("{}", encoding="utf-8")
    assert main(["check", str(catalog), str(rules), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p["path"] for p in problems] == ["plans[0].tasks[0].after"]


# -- kept_dependencies ----------------------------------------------------------------


def plan_of(after: dict[str, tuple[str, ...]]) -> PlanTemplate:
    return PlanTemplate(
        id="p",
        tasks=[
            TaskTemplate(key=k, kind=TaskKind.MANUAL, title=k, after=a) for k, a in after.items()
        ],
    )


def recursive_definition(plan: PlanTemplate, keep: set[str]) -> dict[str, tuple[str, ...]]:
    """The definition, recursively (for small plans only)."""
    deps = {t.key: t.after for t in plan.tasks}

    def resolve(key: str) -> set[str]:
        if key in keep:
            return {key}
        out: set[str] = set()
        for dep in deps.get(key, ()):
            out |= resolve(dep)
        return out

    result: dict[str, tuple[str, ...]] = {}
    for task in plan.tasks:
        if task.key in keep:
            after: list[str] = []
            for dep in task.after:
                after.extend(r for r in sorted(resolve(dep)) if r not in after)
            result[task.key] = tuple(after)
    return result


@st.composite
def dags(draw: st.DrawFn) -> tuple[PlanTemplate, set[str]]:
    size = draw(st.integers(1, 12))
    keys = [f"k{i}" for i in range(size)]
    # each task waits only for tasks later in the list (and unknown ones): acyclic
    after = {
        key: tuple(
            draw(st.lists(st.sampled_from([*keys[i + 1 :], "ghost"]), max_size=3, unique=True))
            if i + 1 < size
            else ()
        )
        for i, key in enumerate(keys)
    }
    keep = draw(st.sets(st.sampled_from(keys)))
    return plan_of(after), keep


@given(dags())
def test_kept_dependencies_agrees_with_the_recursive_definition(
    case: tuple[PlanTemplate, set[str]],
) -> None:
    plan, keep = case
    assert kept_dependencies(plan, keep) == recursive_definition(plan, keep)


def test_a_long_chain_of_left_out_tasks_resolves_to_its_far_end() -> None:
    size = 5_000
    plan = plan_of({f"t{i}": (f"t{i + 1}",) if i + 1 < size else () for i in range(size)})
    assert kept_dependencies(plan, {"t0", f"t{size - 1}"}) == {
        "t0": (f"t{size - 1}",),
        f"t{size - 1}": (),
    }


def test_layers_of_left_out_diamonds_resolve_each_task_once() -> None:
    # 2**40 paths from the end to the root: only memoized resolution finishes
    after: dict[str, tuple[str, ...]] = {"root": ()}
    previous: tuple[str, ...] = ("root",)
    for layer in range(40):
        pair = (f"a{layer}", f"b{layer}")
        after.update({key: previous for key in pair})
        previous = pair
    after["end"] = previous
    assert kept_dependencies(plan_of(after), {"root", "end"}) == {"root": (), "end": ("root",)}


def test_a_request_whose_plan_leaves_out_a_long_chain_waits_for_its_far_end() -> None:
    # the lifecycle builds the plan with kept_dependencies: 1,200 conditional tasks
    # left out between the first and the last one neither recurse nor slow the submit
    from reqfulfill import Channel, FulfillmentService, Requester

    data = reversed_chain(1_200)
    for task in data["plans"][0]["tasks"][1:-1]:
        task["when"] = {"answers.never": True}
    service = FulfillmentService(catalog=Catalog.from_dict(data), store="memory://")
    request = service.submit(
        Requester(id="rae", name="Rae", department="IT", location="HQ"),
        "thing",
        channel=Channel.PORTAL,
    )
    assert [(t.key, t.after) for t in request.plan] == [("t0", ("t1199",)), ("t1199", ())]
