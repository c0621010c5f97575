"""Every dotted name ``reqfulfill.x.y`` the docs mention resolves: a module imports, an
attribute exists. Scanned: ``docs/*.md``, ``README.md``, ``examples/**/*.md`` and the
docstrings of every public module (its own, its classes' and its functions')."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "reqfulfill"

# not part of a path (``src/reqfulfill.egg``), a URL or a file name (``reqfulfill.toml``)
DOTTED = re.compile(r"(?<![\w/.:-])reqfulfill(?:\.[A-Za-z_]\w*)+")
FILE_SUFFIXES = {"py", "md", "toml", "db", "json", "txt", "log", "egg", "whl", "cfg"}


def _names_in(text: str) -> Iterator[str]:
    for match in DOTTED.finditer(text):
        name = match.group(0)
        last = name.rsplit(".", 1)[-1]
        if last in FILE_SUFFIXES or last.startswith("rf_"):
            continue  # a file name, or a table in SQL (``FROM reqfulfill.rf_outbox``)
        yield name


def _pages() -> list[Path]:
    return [
        *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "README.md",
        *sorted((ROOT / "examples").glob("**/*.md")),
    ]


def _docstrings(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ) and (doc := ast.get_docstring(node)):
            yield doc
    # attribute docstrings: a string right after an assignment
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for before, after in itertools.pairwise(body):
            if (
                isinstance(before, ast.Assign | ast.AnnAssign)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                yield after.value.value


def _public_modules() -> list[Path]:
    return sorted(
        path
        for path in SRC.rglob("*.py")
        if not any(part.startswith("_") and part != "__init__.py" for part in path.parts[-3:])
        or path.name == "__init__.py"
    )


def _mentions() -> dict[str, set[str]]:
    """Each dotted name, with the places that mention it."""
    found: dict[str, set[str]] = {}
    for page in _pages():
        for name in _names_in(page.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(page.relative_to(ROOT)))
    for module in _public_modules():
        for doc in _docstrings(module):
            for name in _names_in(doc):
                found.setdefault(name, set()).add(str(module.relative_to(ROOT)))
    return found


MENTIONS = _mentions()


def resolve(name: str) -> object:
    """The object ``name`` names: the longest importable module prefix, then attributes."""
    if name.endswith(".__main__"):  # importing it runs the command line
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(name)
        return spec
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))  # noqa: TID251
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # the module exists but imports something missing: a real failure
            continue
        for attribute in parts[cut:]:
            target = _attribute(target, attribute)
        return target
    raise ModuleNotFoundError(name)


def _attribute(owner: object, name: str) -> object:
    """``owner.name``; for an attrs class, its field ``name`` too (a class that keeps its
    fields in a ``__dict__``, not in slots, has no class attribute for them)."""
    if isinstance(owner, type) and attrs.has(owner):
        field = attrs.fields_dict(owner).get(name)
        if field is not None:
            return field
    return getattr(owner, name)


def test_the_scan_finds_names_in_each_kind_of_source() -> None:
    places = {place for where in MENTIONS.values() for place in where}
    assert any(place.startswith("docs/") for place in places)
    assert "README.md" in places
    assert any(place.startswith("src/") for place in places)
    assert "reqfulfill.rules.MAX_REGEX_MEMORY" in MENTIONS


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_every_dotted_name_the_docs_mention_resolves(name: str) -> None:
    try:
        resolve(name)
    except (ImportError, AttributeError) as exc:
        where = ", ".join(sorted(MENTIONS[name]))
        pytest.fail(f"{where} mentions {name}, which does not resolve: {exc}")


def test_a_field_of_an_attrs_class_resolves() -> None:
    assert isinstance(
        resolve("reqfulfill.model.request.ServiceRequest.approval_stages"), attrs.Attribute
    )
    assert resolve("reqfulfill.model.request.ServiceRequest.task") is not None  # a method
    with pytest.raises(AttributeError):
        resolve("reqfulfill.model.request.ServiceRequest.no_such_field")


def test_a_name_that_does_not_resolve_fails() -> None:
    with pytest.raises(AttributeError):
        resolve("reqfulfill.rules.MAX_REGEX_INPUT")
    with pytest.raises((ImportError, AttributeError)):
        resolve("reqfulfill.nowhere.thing")
    with pytest.raises(ModuleNotFoundError):
        resolve("reqfulfill.nowhere.__main__")
