"""Many processes on one store, through the real service and worker: no lost updates.

Eight processes race ``wait`` / ``resume`` / ``reprioritize`` on the same few
password-reset requests as ``sam.agent`` (the service retries stale versions
itself); then every acknowledged command must be in the history exactly once,
nothing unacknowledged may be, and versions must be dense. Four worker
processes drain one PostgreSQL outbox; every notification is delivered once.

Each process's clock hands out unique instants, so an event's ``at`` names the
command attempt that wrote it.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest

from reqfulfill import FulfillmentService, Worker, hookimpl, lifecycle
from reqfulfill.model.enums import Channel, Impact, RequestState, Urgency
from reqfulfill.model.errors import ConcurrencyError, TransitionError
from reqfulfill.model.events import (
    Event,
    NotificationRequested,
    NotificationSent,
    RequesterNotified,
    RequestPrioritized,
    RequestResumed,
    RequestWaiting,
)
from reqfulfill.model.supplier import Notification
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.contracts import run_in_processes

AGENT = "sam.agent"
SUBMITTED_AT = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
RACE_BASE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

# -- PostgreSQL (same rules as tests/contract/conftest.py: skip, or fail under CI=true) --------


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pg_dsn() -> str:
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn.startswith(("postgresql://", "postgres://")):
        _unavailable("REQFULFILL_PG_DSN is not set to a postgresql:// URL")
    try:
        import psycopg
    except ImportError as exc:
        _unavailable(f"psycopg is not installed: {exc}")
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        _unavailable(f"cannot reach PostgreSQL at REQFULFILL_PG_DSN: {exc}")
    return dsn


@pytest.fixture
def pg_url(pg_dsn: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    schema = f"rf_race_{uuid.uuid4().hex[:12]}"
    yield f"{pg_dsn}{'&' if '?' in pg_dsn else '?'}schema={schema}"
    with psycopg.connect(pg_dsn, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/race.db"
    url: str = request.getfixturevalue("pg_url")
    return url


# -- the racing processes -------------------------------------------------------------------


class _UniqueClock:
    """Hands out instants no other process hands out (worker id in the microseconds)."""

    def __init__(self, worker: int) -> None:
        self._worker = worker
        self._calls = 0
        self.issued: list[datetime] = []

    def now(self) -> datetime:
        self._calls += 1
        at = RACE_BASE + timedelta(milliseconds=self._calls, microseconds=self._worker)
        self.issued.append(at)
        return at


def _race(url: str, worker: int, request_ids: list[str], commands: int) -> list[dict[str, Any]]:
    """Run ``commands`` commands; return what each acknowledged one claims it did."""
    clock = _UniqueClock(worker)
    service = FulfillmentService(demo_catalog(), store=url, clock=clock, load_entrypoints=False)
    rng = random.Random(worker)
    acknowledged: list[dict[str, Any]] = []
    try:
        for i in range(commands):
            request_id = request_ids[(worker + i) % len(request_ids)]
            mark = len(clock.issued)
            record: dict[str, Any] = {"request_id": request_id}
            try:
                if i % 3 == 2:
                    impact = rng.choice(list(Impact))
                    urgency = rng.choice(list(Urgency))
                    record.update(command="reprioritize", impact=impact, urgency=urgency)
                    after = service.reprioritize(request_id, AGENT, impact=impact, urgency=urgency)
                elif service.get(request_id).state is RequestState.WAITING:
                    record.update(command="resume")
                    after = service.resume(request_id, AGENT)
                else:
                    tag = f"w{worker}-{i}"
                    record.update(command="wait", reason=tag)
                    after = service.wait(request_id, AGENT, reason=tag)
            except (TransitionError, ConcurrencyError):
                continue  # refused (another process moved the request on): wrote nothing
            record.update(
                version=after.version,
                at=after.updated_at,
                wrote=after.updated_at in clock.issued[mark:],
            )
            acknowledged.append(record)
    finally:
        service.store.close()
    return acknowledged


def _submit(url: str, count: int) -> list[str]:
    clock = _UniqueClock(0)
    clock.now = lambda: SUBMITTED_AT  # type: ignore[method-assign]
    service = FulfillmentService(demo_catalog(), store=url, clock=clock, load_entrypoints=False)
    try:
        return [
            service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
            for _ in range(count)
        ]
    finally:
        service.store.close()


def _check(url: str, request_ids: list[str], acknowledged: list[dict[str, Any]]) -> None:
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    try:
        for request_id in request_ids:
            history = service.history(request_id)
            mine = [a for a in acknowledged if a["request_id"] == request_id]
            _check_request(request_id, history, mine)
    finally:
        service.store.close()


def _check_request(request_id: str, history: list[Event], acked: list[dict[str, Any]]) -> None:
    assert [e.event_id for e in history] == [
        f"{request_id}/{n}" for n in range(1, len(history) + 1)
    ], "versions are not dense"
    raced = [e for e in history if e.at != SUBMITTED_AT]
    assert all(isinstance(e, RequestWaiting | RequestResumed | RequestPrioritized) for e in raced)
    written = [a for a in acked if a["wrote"]]
    # every event written during the race belongs to exactly one acknowledged command
    assert sorted(e.at for e in raced) == sorted(a["at"] for a in written), (
        "lost update, duplicate, or an unacknowledged write"
    )
    for ack in written:
        event = history[ack["version"] - 1]
        assert event.at == ack["at"]
        assert event.actor == AGENT
        if ack["command"] == "wait":
            assert isinstance(event, RequestWaiting)
            assert event.reason == ack["reason"]
        elif ack["command"] == "resume":
            assert isinstance(event, RequestResumed)
        else:
            assert isinstance(event, RequestPrioritized)
            assert (event.impact, event.urgency) == (ack["impact"], ack["urgency"])
    for ack in acked:
        if not ack["wrote"]:
            # only a reprioritize to the values the request already had writes nothing
            assert ack["command"] == "reprioritize"
            seen = lifecycle.replay(history[: ack["version"]])
            assert (seen.impact, seen.urgency) == (ack["impact"], ack["urgency"])
    assert lifecycle.replay(history).version == len(history)


def _race_and_check(url: str, *, requests: int, commands: int) -> None:
    request_ids = _submit(url, requests)
    results = run_in_processes(
        _race, [(url, worker, request_ids, commands) for worker in range(1, 9)]
    )
    acknowledged = [a for result in results for a in result]
    assert sum(a["wrote"] for a in acknowledged) >= len(request_ids), "no command got through"
    _check(url, request_ids, acknowledged)


def test_eight_processes_lose_no_update(store_url: str) -> None:
    _race_and_check(store_url, requests=3, commands=6)


@pytest.mark.slow
def test_eight_processes_lose_no_update_long(store_url: str) -> None:
    _race_and_check(store_url, requests=4, commands=40)


# -- workers draining one outbox --------------------------------------------------------------


class _FileNotifier:
    """Delivers a notification by creating a file named after it, exclusively."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    @hookimpl
    def reqfulfill_notify(self, notification: Notification) -> None:
        name = f"{notification.request_id}.{notification.kind}"
        try:
            fd = os.open(self.folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            fd = os.open(
                self.folder / f"DUPLICATE.{name}.{uuid.uuid4().hex}", os.O_CREAT | os.O_WRONLY
            )
        os.close(fd)


def _drain(url: str, folder: str, worker: int) -> int:
    service = FulfillmentService(
        demo_catalog(), store=url, plugins=[_FileNotifier(folder)], load_entrypoints=False
    )
    try:
        # notifications only: the catalog's supplier is never ordered from here
        runner = Worker(service, name=f"worker-{worker}", seed=worker, allow_missing=True)
        total = 0
        while ran := runner.run_pending():
            total += ran
        return total
    finally:
        service.store.close()


def _close_requests(url: str, count: int) -> list[str]:
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    try:
        ids = []
        for _ in range(count):
            request = service.submit(demo_requester(), "password-reset", Channel.PORTAL)
            service.complete_task(request.id, "reset", AGENT)
            ids.append(service.close(request.id, AGENT).id)
        return ids
    finally:
        service.store.close()


def _drain_and_check(url: str, folder: Path, *, requests: int) -> None:
    request_ids = _close_requests(url, requests)
    results = run_in_processes(_drain, [(url, str(folder), worker) for worker in range(4)])
    assert sum(results) >= 2 * requests
    delivered = sorted(p.name for p in folder.iterdir())
    assert delivered == sorted(
        f"{rid}.{kind}" for rid in request_ids for kind in ("request_closed", "request_fulfilled")
    ), "a notification was sent twice or never"
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    try:
        for request_id in request_ids:
            history = service.history(request_id)
            requested = [e.event_id for e in history if isinstance(e, NotificationRequested)]
            recorded = [
                e.effect_id for e in history if isinstance(e, RequesterNotified | NotificationSent)
            ]
            assert sorted(recorded) == sorted(requested)
        outbox = service.store.outbox()  # type: ignore[attr-defined]
        assert outbox == []
    finally:
        service.store.close()


@pytest.mark.postgres
def test_four_workers_run_each_effect_once(pg_url: str, tmp_path: Path) -> None:
    _drain_and_check(pg_url, tmp_path, requests=12)


@pytest.mark.postgres
@pytest.mark.slow
def test_four_workers_run_each_effect_once_long(pg_url: str, tmp_path: Path) -> None:
    _drain_and_check(pg_url, tmp_path, requests=80)
