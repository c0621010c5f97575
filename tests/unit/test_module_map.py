"""The module map at the top of docs/architecture.md is the code's map.

Every module under ``src/reqfulfill`` has a row, every row names a module that
exists, and every ``reqfulfill`` import of a module (at the top or inside a
function) is one its row allows, so the table cannot drift from the code and a
layer cannot be crossed without the map saying so.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "reqfulfill"
ROW = re.compile(r"^\| `(reqfulfill[\w.]*)` \| .+ \| (.+) \|$")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _map() -> dict[str, tuple[str, ...] | None]:
    """module -> allowed prefixes (``None``: everything)."""
    rows: dict[str, tuple[str, ...] | None] = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        module, allowed = match.groups()
        assert module not in rows, f"{module} has two rows"
        if allowed.strip() == "everything":
            rows[module] = None
        else:
            rows[module] = tuple(re.findall(r"`([\w.]+)`", allowed))
    return rows


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The reqfulfill modules ``module`` imports, wherever the import statement is."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        out.update(n for n in names if n.split(".")[0] == "reqfulfill" and n != module)
    return out


def _allows(prefixes: tuple[str, ...], target: str) -> bool:
    short = target.removeprefix("reqfulfill.")
    return any(short == p or short.startswith(p + ".") for p in prefixes)


def test_every_module_has_one_row_and_every_row_a_module() -> None:
    modules, rows = _modules(), _map()
    assert sorted(set(modules) - set(rows)) == [], "modules missing from the map"
    assert sorted(set(rows) - set(modules)) == [], "rows for modules that do not exist"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_a_module_imports_only_what_its_row_allows(module: str) -> None:
    modules = _modules()
    allowed = _map().get(module, ())
    if allowed is None:
        return
    crossing = sorted(
        target
        for target in _imports(module, modules[module], modules)
        if target != "reqfulfill" and not _allows(allowed, target)
    )
    assert crossing == [], f"{module} imports what docs/architecture.md does not allow"


def test_the_map_catches_a_crossing() -> None:
    # the check itself: model may not import the service
    assert not _allows(("model",), "reqfulfill.service")
    assert _allows(("model",), "reqfulfill.model.events")
    assert not _allows(("model",), "reqfulfill.modelling")
