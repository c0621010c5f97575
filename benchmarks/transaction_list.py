"""Every transaction of one phone order on SQLite, listed: what the benchmark counts.

``python -m benchmarks.transactions --list`` prints it. Each line is one
transaction of the store's connection, in order: ``commit`` (it changed a row:
a commit that must reach the disk), ``empty`` (a ``BEGIN IMMEDIATE`` ... ``COMMIT``
that changed nothing: SQLite writes nothing for it) or ``auto`` (a write statement
outside a transaction, its own commit), then the store method that ran it, who
asked (the service command or the worker step) and the events it appended.
Counted the way :class:`benchmarks.durability.SQLiteConnections` counts: the
trace callback of the store's connection, ``total_changes`` telling the two
kinds of COMMIT apart.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from benchmarks.durability import SQLiteConnections


@attrs.frozen
class Transaction:
    """One transaction of the store's connection."""

    kind: str  # "commit", "empty" or "auto"
    method: str  # the store method, e.g. "append_and_claim"
    caller: str  # the service command or worker step that asked for it
    events: tuple[str, ...]  # the types of the events it appended

    def __str__(self) -> str:
        events = f" [{', '.join(self.events)}]" if self.events else ""
        return f"{self.kind:6} {self.method:20} {self.caller}{events}"


_WORKER_STEPS = (
    "_run_timer",
    "_poll",
    "_place",
    "_run_effect",
    "_notify_all",
    "_run_due",
    "_run",
)
_SERVICE_COMMANDS = ("submit", "approve", "claim", "complete_task", "ship", "confirm_delivery")


def _where(frame: FrameType | None) -> tuple[str, str, tuple[str, ...]]:
    """The store method, its caller and the appended events, from the stack."""
    method, caller, events = "", "", ()
    while frame is not None:
        code = frame.f_code
        path = code.co_filename.replace("\\", "/")
        if "/reqfulfill/stores/" in path and not method and not code.co_name.startswith("_"):
            method = code.co_name
            found: Any = frame.f_locals.get("events", ())
            events = tuple(type(e).__name__ for e in found)
        elif method and not caller and path.endswith("reqfulfill/worker.py"):
            if code.co_name in _WORKER_STEPS:
                caller = f"worker.{code.co_name}"
        elif method and not caller and code.co_name in _SERVICE_COMMANDS:
            caller = f"service.{code.co_name}"
        frame = frame.f_back
    return method or "?", caller or "?", events


def phone_order_transactions() -> list[Transaction]:
    """The transactions of one phone order (after a first one has warmed the store)."""
    from benchmarks.transactions import Services

    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, SQLiteConnections() as conns:
        services = Services()
        play = services.phone("sqlite:///" + str(Path(tmp) / "list.db"))
        play()
        ((db, _),) = conns.connections
        found: list[Transaction] = []
        opened: list[tuple[int, str, str, tuple[str, ...]]] = []

        def trace(statement: str) -> None:
            word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
            if word == "BEGIN":
                opened[:] = [(db.total_changes, *_where(sys._getframe(1)))]
            elif word in ("INSERT", "UPDATE", "DELETE") and opened and not opened[0][3]:
                # the events are known once the append's statements run
                changes, method, caller, _ = opened[0]
                opened[0] = (changes, method, caller, _where(sys._getframe(1))[2])
            elif word in ("COMMIT", "END") and opened:
                changes, method, caller, events = opened.pop()
                kind = "empty" if db.total_changes == changes else "commit"
                found.append(Transaction(kind, method, caller, events))
            elif word == "ROLLBACK":
                opened.clear()
            elif word in ("INSERT", "UPDATE", "DELETE") and not opened:
                found.append(Transaction("auto", *_where(sys._getframe(1))))

        db.set_trace_callback(trace)
        play()
        db.set_trace_callback(None)
        services.close()
    return found


def print_phone_order() -> None:
    """Print the list, numbered, and the totals."""
    found = phone_order_transactions()
    for number, tx in enumerate(found, start=1):
        print(f"{number:3}  {tx}")
    commits = sum(tx.kind != "empty" for tx in found)
    print(f"{commits} commits, {len(found)} transactions (sqlite {sqlite3.sqlite_version})")
