"""The diagram commands of the CLI: ``diagram lifecycle`` and ``diagram plan``.

``add_commands(subparsers)`` registers ``diagram`` on the main parser's
subparsers; each subcommand sets ``func`` to a handler ``run_*(args) -> int``
that prints Mermaid text. Exit status: 0 success, 2 unreadable input or an
unknown item (the message names the file).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reqfulfill.cli.support import fail
from reqfulfill.diagrams import lifecycle_mermaid, plan_mermaid
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import NotFoundError, ValidationError
from reqfulfill.serialization import load_data_file

__all__ = ["add_commands", "run_lifecycle", "run_plan"]

EXIT_OK = 0
EXIT_USAGE = 2


def add_commands(subparsers: Any) -> None:
    """Register ``diagram lifecycle`` and ``diagram plan`` on ``subparsers``.

    ``subparsers`` is what ``ArgumentParser.add_subparsers()`` returned; the
    caller then runs ``args.func(args)`` and exits with its result.
    """
    diagram = subparsers.add_parser(
        "diagram",
        help="print Mermaid diagrams of the lifecycle or of an item's plan",
        description="Print a Mermaid diagram drawn from the code or a catalog.",
    )
    kinds = diagram.add_subparsers(dest="diagram", required=True, metavar="{lifecycle,plan}")
    states = kinds.add_parser(
        "lifecycle",
        help="the request state machine (stateDiagram-v2)",
        description="Print the request lifecycle as a Mermaid stateDiagram-v2, each arrow "
        "labelled with the events that make the change.",
    )
    states.set_defaults(func=run_lifecycle)
    plan = kinds.add_parser(
        "plan",
        help="the fulfillment plan of a catalog item (flowchart)",
        description="Print the plan template of ITEM in CATALOG as a Mermaid flowchart: "
        "tasks with their kinds, 'after' dependencies, conditional tasks dashed.",
    )
    plan.add_argument("catalog", metavar="CATALOG", help="catalog file (.toml or .json)")
    plan.add_argument("item", metavar="ITEM", help="the service item's id")
    plan.set_defaults(func=run_plan)


def run_lifecycle(args: argparse.Namespace) -> int:
    """Print the lifecycle diagram."""
    sys.stdout.write(lifecycle_mermaid())
    return EXIT_OK


def run_plan(args: argparse.Namespace) -> int:
    """Print the plan diagram of ``args.item`` in the catalog file ``args.catalog``."""
    path: str = args.catalog
    try:
        catalog = Catalog.from_dict(load_data_file(path), source=path)
        text = plan_mermaid(catalog, args.item)
    except ValidationError as exc:
        return fail(str(exc), "reqfulfill diagram")
    except NotFoundError as exc:
        return fail(f"{path}: {exc}", "reqfulfill diagram")
    sys.stdout.write(text)
    return EXIT_OK
