"""The reference tables of ``docs/formats.md``, written from the JSON Schemas.

:func:`reference` gives, for one data form, a Markdown section per table of the file
(the top level, then each nested table) listing every key with its type, default
and description. ``docs/formats.md`` holds them between ``<!-- schema:FORM -->``
markers; ``scripts/schemas.py --write`` puts them there and a test checks that they
are current, so the page cannot drift from the schemas (nor these from the loaders).

>>> print(reference("sla").splitlines()[0])
### sla: the top level
"""

from __future__ import annotations

import json
from typing import Any

from reqfulfill.schemas import schema

__all__ = ["reference", "type_text"]


def _anchor(form: str, name: str) -> str:
    """The heading anchor of ``### FORM: NAME`` (GitHub's and MyST's slugs agree)."""
    return f"{form}-{name}".lower()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def type_text(entry: dict[str, Any], form: str) -> str:
    """A schema entry's type in words: ``string``, ``list of [`escalation_level`](#...)``.

    >>> type_text({"type": "array", "items": {"enum": ["a", "b"]}}, "sla")
    'list of: `"a"` or `"b"`'
    """
    if "$ref" in entry:
        name = entry["$ref"].rsplit("/", 1)[1]
        return f"table [`{name}`](#{_anchor(form, name)})"
    if "enum" in entry:
        return " or ".join(f"`{json.dumps(v)}`" for v in entry["enum"])
    kind = entry.get("type")
    if isinstance(kind, list):
        return " or ".join(type_text({**entry, "type": k}, form) for k in kind)
    if "title" in entry:
        return f"{kind}: {entry['title']}"
    if kind == "array":
        return f"list of: {type_text(entry.get('items', {}), form)}"
    if kind == "object":
        if "additionalProperties" in entry and isinstance(entry["additionalProperties"], dict):
            keys = entry.get("propertyNames", {}).get("pattern", "")
            values = type_text(entry["additionalProperties"], form)
            return f"table: key `{keys}` -> {values}"
        if "properties" in entry:
            return "table of " + ", ".join(f"`{key}`" for key in entry["properties"])
        return "table"
    if kind == "string":
        if "pattern" in entry:
            return f"string matching `{entry['pattern']}`"
        if entry.get("minLength"):
            return "string (not empty)"
        if "format" in entry:
            return f"string: a {entry['format']} (YYYY-MM-DD)"
        return "string"
    if kind == "number":
        bound = entry.get("exclusiveMinimum")
        return "number" + (f" above {bound}" if bound is not None else "")
    if kind == "integer" and "minimum" in entry:
        return f"integer {entry['minimum']} to {entry['maximum']}"
    return str(kind)


def _table(title: str, body: dict[str, Any], form: str) -> list[str]:
    lines = [f"### {title}", ""]
    if body.get("description"):
        lines += [body["description"][0].upper() + body["description"][1:].rstrip(".") + ".", ""]
    required = set(body.get("required", ()))
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for key, entry in body.get("properties", {}).items():
        default = "required" if key in required else "`" + json.dumps(entry.get("default")) + "`"
        if key not in required and "default" not in entry:
            default = "optional"
        described = entry.get("description", "")
        lines.append(
            f"| `{key}` | {_cell(type_text(entry, form))} | {_cell(default)} | {_cell(described)} |"
        )
    return [*lines, ""]


def reference(form: str) -> str:
    """The Markdown reference of ``form``: one table per table of the file."""
    found = schema(form)
    lines = _table(f"{form}: the top level", found, form)
    for name, body in found.get("$defs", {}).items():
        if body.get("type") == "object" and "properties" in body:
            lines += _table(f"{form}: {name}", body, form)
    return "\n".join(lines).rstrip("\n") + "\n"
