"""``reqfulfill demo``: play the reference scenario on the embedded store, print its timeline.

``add_commands(subparsers)`` registers ``demo``; :func:`run_demo` plays
:func:`reqfulfill.demo.play_reference_scenario` on a SQLite file (``--db``, or
one in a temporary folder that is removed) and prints the timeline, or with
``--json`` the request id, its state, the store and every event.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reqfulfill.cli.support import InputError, dumps
from reqfulfill.demo import play_reference_scenario, timeline
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.serialization import event_to_dict

__all__ = ["add_commands", "run_demo"]


def add_commands(subparsers: Any) -> None:
    """Register ``demo`` on ``subparsers`` (what ``ArgumentParser.add_subparsers()`` returned)."""
    demo = subparsers.add_parser("demo", help="play the reference scenario on the embedded store")
    demo.add_argument("--db", help="SQLite file to keep (default: a temporary folder)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """The ``demo`` command: play the scenario on ``args.db`` or a temporary file, print it."""
    if args.db:
        path = Path(args.db).resolve()
        if path.is_dir():
            raise InputError(f"--db {args.db}: is a folder; name a SQLite file")
        return _play(args, path, str(path))
    with tempfile.TemporaryDirectory(prefix="reqfulfill-demo-") as tmp:
        path = Path(tmp) / "demo.db"
        return _play(args, path, f"{path} (temporary, removed)")


def _play(args: argparse.Namespace, path: Path, where: str) -> int:
    try:
        service, request = play_reference_scenario("sqlite:///" + str(path))
        events = service.history(request.id)
        service.store.close()
    except sqlite3.Error as exc:  # not a SQLite file, or one that cannot be written
        raise InputError(f"--db {path}: cannot use it as a SQLite store: {exc}") from None
    return _print_demo(args, request, events, where)


def _print_demo(
    args: argparse.Namespace, request: ServiceRequest, events: Sequence[Event], where: str
) -> int:
    if args.json:
        print(
            dumps(
                {
                    "request": request.id,
                    "state": request.state.value,
                    "store": where,
                    "events": [event_to_dict(e) for e in events],
                }
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
