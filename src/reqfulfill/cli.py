"""The ``reqfulfill`` command line (also ``python -m reqfulfill``).

Exit status: 0 success, 1 findings or changes that need attention, 2 bad usage
or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from reqfulfill.model.errors import ReqfulfillError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from reqfulfill.demo import play_reference_scenario

    if args.db:
        path = Path(args.db).resolve()
        service, request = play_reference_scenario("sqlite:///" + str(path))
        where = str(path)
    else:
        with tempfile.TemporaryDirectory(prefix="reqfulfill-demo-") as tmp:
            path = Path(tmp) / "demo.db"
            service, request = play_reference_scenario("sqlite:///" + str(path))
            events = service.history(request.id)
            service.store.close()
        where = f"{path} (temporary, removed)"
        return _print_demo(args, request, events, where)
    events = service.history(request.id)
    service.store.close()
    return _print_demo(args, request, events, where)


def _print_demo(args: argparse.Namespace, request: object, events: list, where: str) -> int:  # type: ignore[type-arg]
    from reqfulfill.demo import timeline
    from reqfulfill.model.request import ServiceRequest
    from reqfulfill.serialization import event_to_dict

    assert isinstance(request, ServiceRequest)
    if args.json:
        print(
            json.dumps(
                {
                    "request": request.id,
                    "state": request.state.value,
                    "store": where,
                    "events": [event_to_dict(e) for e in events],
                },
                indent=2,
            )
        )
        return 0
    print(f"Reference scenario: a mobile phone ordered in the portal (store: {where})")
    print(f"Request {request.id}\n")
    for line in timeline(events):
        print(line)
    rating = request.feedback.rating if request.feedback else None
    print(
        f"\nFinal state: {request.state.value}; priority P{int(request.priority or 0)}; "
        f"SLA {'met' if not request.sla.breached else 'missed'}; rating {rating}/5"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="reqfulfill", description="Service request fulfillment: demo and rule tools."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play the reference scenario on the embedded store")
    demo.add_argument("--db", help="SQLite file to keep (default: a temporary folder)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(func=_demo)
    from reqfulfill._cli_db import add_commands as add_db_commands
    from reqfulfill._cli_diagram import add_commands as add_diagram_commands
    from reqfulfill._cli_report import add_commands as add_report_commands
    from reqfulfill._cli_rules import add_commands as add_rule_commands

    add_rule_commands(sub)
    add_report_commands(sub)
    add_diagram_commands(sub)
    add_db_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        status: int = args.func(args)
    except ReqfulfillError as exc:
        print(f"reqfulfill: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (``reqfulfill simulate ... | head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
