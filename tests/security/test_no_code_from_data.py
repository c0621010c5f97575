"""No rule or configuration value can reach code execution: ``src/`` never calls
``eval``, ``exec``, ``compile``, ``pickle``, ``marshal``, ``importlib.import_module``,
``__import__`` or ``yaml.load`` (checked on the AST, so comments and strings do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "reqfulfill"
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
BANNED_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill"}
BANNED_ATTRIBUTES = {
    ("importlib", "import_module"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("yaml", "full_load"),
    ("builtins", "eval"),
    ("builtins", "exec"),
}


def _findings(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if call and node.func.id in BANNED_CALLS:  # type: ignore[attr-defined]
            found.append(f"line {node.lineno}: {node.func.id}()")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in BANNED_ATTRIBUTES
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in BANNED_MODULES:
                    found.append(f"line {node.lineno}: import {alias.name}")
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            names = {a.name for a in node.names}
            if root in BANNED_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
            if (root == "importlib" and "import_module" in names) or (
                root == "yaml" and names & {"load", "unsafe_load", "full_load"}
            ):
                found.append(f"line {node.lineno}: from {node.module} import {sorted(names)}")
            if root == "builtins" and names & {"eval", "exec", "compile", "__import__"}:
                found.append(f"line {node.lineno}: from builtins import {sorted(names)}")
    return found


SOURCES = sorted(SRC.rglob("*.py"))


def test_the_scan_sees_the_sources() -> None:
    assert len(SOURCES) > 20
    assert any(p.name == "decider.py" and p.parent.name == "lifecycle" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_dynamic_code_in_src(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert _findings(tree) == []


@pytest.mark.parametrize(
    "source",
    [
        "eval(rule)",
        "exec(text)",
        "compile(src, 'f', 'exec')",
        "__import__(name)",
        "import pickle",
        "from marshal import loads",
        "import importlib\nimportlib.import_module(x)",
        "from importlib import import_module",
        "import yaml\nyaml.load(s)",
        "import builtins\nbuiltins.eval('1')",
    ],
)
def test_the_scan_catches_each_banned_form(source: str) -> None:
    assert _findings(ast.parse(source))


def test_re_compile_and_plain_imports_are_allowed() -> None:
    assert _findings(ast.parse("import re\nre.compile('a')\nimport json\njson.loads('1')")) == []
