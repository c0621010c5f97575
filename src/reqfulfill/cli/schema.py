"""``reqfulfill schema catalog|rules|sla``: print the JSON Schema of a data form.

The schema is the one shipped in the package (``reqfulfill/schemas/FORM.json``),
generated from the loaders' definitions; save it and point an editor at it for
completion and checking as you type (``docs/formats.md``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reqfulfill.schemas import FORMS, shipped_text

__all__ = ["add_commands", "run_schema"]


def add_commands(subparsers: Any) -> None:
    """Register ``schema`` on ``subparsers``."""
    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of catalog, rules or SLA files",
        description="Print the JSON Schema (draft 2020-12) of a data file format, for "
        "editors to complete and check files as you type. Every key, type and default is "
        "described in docs/formats.md.",
        epilog="example: reqfulfill schema catalog > catalog.schema.json",
    )
    schema.add_argument("form", choices=FORMS, help="which file format")
    schema.set_defaults(func=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    """Print the shipped schema of ``args.form``."""
    sys.stdout.write(shipped_text(args.form))
    return 0
