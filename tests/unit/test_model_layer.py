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
