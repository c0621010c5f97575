"""Sphinx configuration: furo, MyST Markdown, autodoc, Mermaid diagrams drawn from the code.

Build with ``scripts/check_docs.sh`` (warnings are errors), or by hand::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The ``reqfulfill-diagram`` directive defined here draws a diagram while the page is
read: ``lifecycle`` or ``plan ITEM`` (an item of ``reqfulfill.testing.demo_catalog()``),
with :mod:`reqfulfill.diagrams` -- the same text ``reqfulfill diagram lifecycle`` and
``reqfulfill diagram plan`` print -- so the site can never disagree with the code.
"""

from __future__ import annotations

import re
from importlib.metadata import metadata
from typing import Any

from sphinx.errors import ExtensionError
from sphinxcontrib.mermaid import Mermaid

from reqfulfill import __version__
from reqfulfill.diagrams import lifecycle_mermaid, plan_mermaid
from reqfulfill.testing import demo_catalog

project = "reqfulfill"
author = "reqfulfill developers"
copyright = "reqfulfill developers; Apache-2.0"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**/.*"]

# -- Markdown ---------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# A Markdown page is also read on the forge, where ```mermaid fences render: keep them
# as diagrams here too.
myst_fence_as_directive = ["mermaid"]

# -- API reference ----------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": True}

# -- HTML -------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"reqfulfill {release}"
html_static_path: list[str] = []
pygments_style = "friendly"
pygments_dark_style = "monokai"

# Mermaid renders in the browser (the page loads mermaid.js); nothing is fetched at build.
mermaid_output_format = "raw"

# -- links out of docs/ -----------------------------------------------------------------
# Pages link to ../README.md, ../examples/... so that they work when read in the
# repository; on the site those files are not pages, so such links point at the forge.
_urls = metadata("reqfulfill").get_all("Project-URL") or []
SOURCE_URL = next(
    (u.split(",", 1)[1].strip() for u in _urls if u.lower().startswith("source,")),
    "https://github.com/reqfulfill/reqfulfill",
)
_OUTSIDE = re.compile(r"\]\(\.\./([^)\s]+)\)")


def _link_outside(text: str) -> str:
    def forge(match: re.Match[str]) -> str:
        target = match.group(1)
        kind = "tree" if target.endswith("/") else "blob"
        return f"]({SOURCE_URL}/{kind}/main/{target})"

    return _OUTSIDE.sub(forge, text)


def _rewrite_source(app: Any, docname: str, source: list[str]) -> None:
    source[0] = _link_outside(source[0])


class DiagramDirective(Mermaid):
    """``reqfulfill-diagram lifecycle`` or ``reqfulfill-diagram plan ITEM``, drawn now."""

    has_content = False
    required_arguments = 1
    optional_arguments = 1

    def get_mm_code(self) -> str:
        kind, *rest = self.arguments
        if kind == "lifecycle" and not rest:
            return lifecycle_mermaid()
        if kind == "plan" and len(rest) == 1:
            return plan_mermaid(demo_catalog(), rest[0])
        raise ExtensionError(f"reqfulfill-diagram: use 'lifecycle' or 'plan ITEM', not {kind!r}")


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("reqfulfill-diagram", DiagramDirective)
    app.connect("source-read", _rewrite_source)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
