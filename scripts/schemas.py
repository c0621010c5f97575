"""Regenerate the shipped JSON Schemas and the reference tables of ``docs/formats.md``.

The schemas are generated from the loaders' own definitions (``reqfulfill.schemas``);
``tests/unit/test_schemas.py`` fails when the files or the page are stale. After a
change to a data form::

    PYTHONPATH=src python scripts/schemas.py --write   # rewrite both, then commit them
    PYTHONPATH=src python scripts/schemas.py           # exit 1 when something is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from reqfulfill.schemas import FORMS, schema_text
from reqfulfill.schemas.reference import reference

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "src" / "reqfulfill" / "schemas"
PAGE = ROOT / "docs" / "formats.md"


def section(form: str) -> re.Pattern[str]:
    """The generated part of ``docs/formats.md`` for ``form``, markers included."""
    return re.compile(rf"(<!-- schema:{form} -->\n)(.*?)(<!-- /schema:{form} -->)", re.DOTALL)


def page_with_references(text: str) -> str:
    """``text`` (the page) with every generated section made current."""
    for form in FORMS:
        found = section(form)
        if found.search(text) is None:
            raise SystemExit(f"{PAGE}: no <!-- schema:{form} --> section")
        text = found.sub(
            lambda m, f=form: m.group(1) + "\n" + reference(f) + "\n" + m.group(3), text
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite what is stale")
    args = parser.parse_args(argv)
    stale: list[str] = []
    for form in FORMS:
        path = SCHEMAS / f"{form}.json"
        text = schema_text(form)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
            if args.write:
                path.write_text(text, encoding="utf-8")
    page = PAGE.read_text(encoding="utf-8")
    current = page_with_references(page)
    if current != page:
        stale.append(str(PAGE))
        if args.write:
            PAGE.write_text(current, encoding="utf-8")
    for path in stale:
        print(f"{'rewrote' if args.write else 'stale'}: {path}")
    return 1 if stale and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
