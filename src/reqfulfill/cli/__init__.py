"""The ``reqfulfill`` command line (also ``python -m reqfulfill``).

One module per command group, each with ``add_commands(subparsers)``:
:mod:`~reqfulfill.cli.demo` (``demo``), :mod:`~reqfulfill.cli.rules`
(``check``, ``explain``, ``simulate``), :mod:`~reqfulfill.cli.report`
(``report``), :mod:`~reqfulfill.cli.schema` (``schema``), :mod:`~reqfulfill.cli.diagram`
(``diagram``), :mod:`~reqfulfill.cli.db` (``db upgrade``) and
:mod:`~reqfulfill.cli.suggest` (``suggest``, ``suggest-eval``).

Exit status: 0 success, 1 findings or changes that need attention, 2 bad usage
or input the command cannot use. A failure is one line on stderr, never a
traceback: usage errors, every :class:`~reqfulfill.model.errors.ReqfulfillError`
(bad configuration or input, a store that cannot be opened) and files that cannot
be read or written. ``--json`` output is strict JSON (:func:`~reqfulfill.cli.support.dumps`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from reqfulfill.cli import db, demo, diagram, report, rules, schema, suggest
from reqfulfill.cli.support import Parser, fail
from reqfulfill.model.errors import ReqfulfillError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog="reqfulfill", description="Service request fulfillment: demo and rule tools."
    )
    parser.add_argument(
        "--version", action="version", version=f"reqfulfill {_version()}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (demo, rules, report, schema, diagram, db, suggest):
        group.add_commands(sub)
    return parser


def _version() -> str:
    import reqfulfill

    return reqfulfill.__version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        status: int = args.func(args)
    except BrokenPipeError:
        # the reader went away (``reqfulfill simulate ... | head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ReqfulfillError as exc:
        return fail(str(exc))
    except OSError as exc:  # a file that cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}")
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
