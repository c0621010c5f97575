"""The docs are executed: their ``python`` code blocks run, every hook is documented.

Fenced blocks tagged ``python`` run; blocks tagged ``py`` are excerpts (a
signature, a snippet needing a real server) and are not run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reqfulfill import RequestState, hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")

OWN_PAGES = [
    "index.md",
    "architecture.md",
    "tutorial.md",
    "plugins.md",
    "worker.md",
    "connectors.md",
    "formats.md",
    "feed.md",
    "queries.md",
    "approvals.md",
    "intake.md",
    "inventory.md",
]
RUNNABLE = [
    "tutorial.md",
    "plugins.md",
    "connectors.md",
    "worker.md",
    "formats.md",
    "feed.md",
    "queries.md",
    "approvals.md",
    "intake.md",
    "inventory.md",
]
LINKED_PAGES_OF_OTHERS = {"rules.md", "sla.md", "stores.md", "benchmarks.md"}
"""Pages other engineers own; a link to one is only checked once it exists."""


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def run_blocks(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs.{path.stem}"}
    for index, block in enumerate(python_blocks(path)):
        code = compile(block, f"{path.name} (python block {index + 1})", "exec")
        exec(code, namespace)
    return namespace


def test_tutorial_plays_the_reference_scenario_to_closed() -> None:
    namespace = run_blocks(DOCS / "tutorial.md")
    service, rid = namespace["service"], namespace["rid"]
    assert service.get(rid).state is RequestState.CLOSED
    assert service.get(rid).feedback.rating == 5


@pytest.mark.parametrize("page", [p for p in RUNNABLE if p != "tutorial.md"])
def test_page_examples_run(page: str) -> None:
    assert python_blocks(DOCS / page), f"{page} has no python blocks"
    run_blocks(DOCS / page)


def test_readme_example_runs() -> None:
    blocks = python_blocks(ROOT / "README.md")
    assert len(blocks) == 1
    namespace = run_blocks(ROOT / "README.md")
    request = namespace["service"].get(namespace["request"].id)
    assert request.state is RequestState.CLOSED


def hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("reqfulfill_"))


def documented_hooks() -> set[str]:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,4} (reqfulfill_\w+)\s*$", text, re.MULTILINE))


def test_hookspecs_found() -> None:
    assert "reqfulfill_storage" in hook_names()


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented(hook: str) -> None:
    assert hook in documented_hooks(), f"docs/plugins.md needs a '### {hook}' section"


def test_no_documented_hook_is_unknown() -> None:
    assert documented_hooks() <= set(hook_names())


@pytest.mark.parametrize("page", [*OWN_PAGES, "../README.md", "../CHANGELOG.md"])
def test_relative_links_resolve(page: str) -> None:
    path = (DOCS / page).resolve()
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        resolved = (path.parent / target).resolve()
        if resolved.name in LINKED_PAGES_OF_OTHERS and resolved.parent == DOCS:
            continue
        assert resolved.exists(), f"{page} links to missing {target}"


def test_index_lists_the_pages() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in [*OWN_PAGES, *sorted(LINKED_PAGES_OF_OTHERS)]:
        if page != "index.md":
            assert f"({page})" in index, f"docs/index.md does not list {page}"
