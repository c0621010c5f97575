"""Every entry point of the ``reqfulfill`` group shown in the docs, the README and the
examples has one form: ``name = "package.module:Class"`` (reqfulfill instantiates the
class), so a reader copying any of them gets a plugin that loads."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOML_BLOCK = re.compile(r"^ *```toml\n(.*?)^ *```", re.DOTALL | re.MULTILINE)
FORM = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*:[A-Z][A-Za-z0-9]*$")


def _declared() -> dict[str, dict[str, str]]:
    """Each place's ``reqfulfill`` entry points."""
    found: dict[str, dict[str, str]] = {}
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    pages += sorted((ROOT / "examples").glob("**/*.md"))
    for page in pages:
        for index, block in enumerate(TOML_BLOCK.findall(page.read_text(encoding="utf-8"))):
            data = tomllib.loads(textwrap.dedent(block))
            points = data.get("project", {}).get("entry-points", {})
            if "reqfulfill" in points:
                found[f"{page.relative_to(ROOT)} (toml block {index + 1})"] = points["reqfulfill"]
    for project in sorted((ROOT / "examples").glob("**/pyproject.toml")):
        points = tomllib.loads(project.read_text())["project"].get("entry-points", {})
        if "reqfulfill" in points:
            found[str(project.relative_to(ROOT))] = points["reqfulfill"]
    return found


def test_every_documented_entry_point_names_a_class() -> None:
    declared = _declared()
    assert "docs/plugins.md (toml block 1)" in declared  # the scan sees the pages
    assert "examples/acme_connector/pyproject.toml" in declared
    wrong = {
        f"{where}: {name} = {target!r}"
        for where, points in declared.items()
        for name, target in points.items()
        if not FORM.match(target)
    }
    assert not wrong, f"entry points not of the form 'package.module:Class': {sorted(wrong)}"


def test_the_docs_show_the_example_package_as_it_declares_itself() -> None:
    declared = _declared()
    example = declared["examples/acme_connector/pyproject.toml"]
    for where, points in declared.items():
        if "acme" in points:
            assert points["acme"] == example["acme"], where
