"""``FulfillmentMachine`` on the three stores reqfulfill ships.

Under the CI profile (``HYPOTHESIS_PROFILE=ci``) the three runs together take
at least 10,000 steps (each test asserts its share); the dev profile runs a
short smoke version of each.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from reqfulfill import FulfillmentService, lifecycle
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.stores import Store
from reqfulfill.testing import DEMO_CATALOG, demo_catalog
from reqfulfill.testing.machine import FulfillmentMachine

CI_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
STEPS = 50
# examples per store, and the steps each run must reach under the CI profile
# (4,500 + 3,000 + 2,500 = 10,000; measured runs take 20-40% more; the rules that
# cancel or approve while effects wait brought the steps per example down by about a
# tenth, so there are more examples than before them; the approval-policy steps
# (issue 17) made a whole phone order through to "ship" rarer in the memory walk, so
# it runs more examples: 160 reached every stage in most runs, not all)
PLAN = {
    "memory": (240 if CI_PROFILE else 12, 4_500),
    "sqlite": (100 if CI_PROFILE else 8, 3_000),
    "postgres": (95 if CI_PROFILE else 6, 2_500),
}


def _settings(store: str) -> settings:
    examples, _ = PLAN[store]
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        # the memory walk asserts what it reaches (every stage, every stock outcome):
        # under the CI profile it takes the same examples every run, so a pass is not
        # luck; the SQLite and PostgreSQL walks stay random
        derandomize=CI_PROFILE and store == "memory",
    )


def _run(machine: type[FulfillmentMachine], store: str) -> int:
    machine.steps_run = 0
    run_state_machine_as_test(machine, settings=_settings(store))
    steps = machine.steps_run
    print(f"{store}: {steps} steps")  # the figure CI reports (with -s)
    if CI_PROFILE:
        assert steps >= PLAN[store][1], f"{store}: only {steps} steps under the CI profile"
    else:
        assert steps >= PLAN[store][0] * 10
    accepted = sum(n for k, n in machine.outcomes.items() if k.endswith(" accepted"))
    refused = sum(n for k, n in machine.outcomes.items() if " refused " in k)
    assert accepted, machine.outcomes  # commands went through ...
    assert refused, machine.outcomes  # ... and were refused
    return steps


def _catalog_with_approvals() -> Catalog:
    """The demo catalog and an item under a two-stage approval policy (the manager;
    then the identity admin and an agent, both), reminded after an hour and escalated
    to the level-2 expert after four. The demo items keep their single approval, so
    the machine reaches their automations and orders as often as before."""
    data = copy.deepcopy(DEMO_CATALOG)
    data["approval_policies"] = [
        {
            "id": "access",
            "remind_after": "1h",
            "expire_after": "4h",
            "on_expiry": "escalate",
            "escalate_to": ["lee.expert"],
            "stages": [
                {"key": "manager", "approvers": "manager"},
                {
                    "key": "owners",
                    "approvers": ["ida.admin", "tia.agent"],
                    "mode": "all",
                    "if_no_approver": "skip",
                },
            ],
        }
    ]
    data["items"].append(
        {
            "id": "admin-rights",
            "name": "Local admin rights",
            "category": "Access/Device",
            "group": "service-desk",
            "impact": "low",
            "urgency": "medium",
            "plan": "password-reset",
            "approval": "access",
        }
    )
    return Catalog.from_dict(data)


class MemoryMachine(FulfillmentMachine):
    store_url = "memory://"
    catalog = _catalog_with_approvals()


def _catalog_with_auto_triage() -> Catalog:
    """The demo catalog, whose confident suggestions triage mails and chat messages by
    themselves (the machine's ``receive`` steps reach both sides of the threshold)."""
    data = copy.deepcopy(DEMO_CATALOG)
    data["intake"] = {"auto_triage": {"email": 0.85, "chat": 0.6}}
    return Catalog.from_dict(data)


class SQLiteMachine(FulfillmentMachine):
    store_url = "sqlite:///{tmp}/machine.db"
    catalog = _catalog_with_auto_triage()


_STAGES = (
    "approve",
    "claim",
    "complete_task",
    "ship",
    "confirm_delivery",
    "close",
    "record_feedback",
    "cancel",
)


def _not_reached(machine: type[MemoryMachine]) -> list[str]:
    """What the memory walk has not reached yet (each named by its counter)."""
    outcomes, stock = machine.outcomes, machine.stock_counts
    missing = [f"{c} accepted" for c in _STAGES if not outcomes[f"{c} accepted"]]
    if not outcomes["approve refused (AuthorizationError)"]:
        missing.append("approve refused (AuthorizationError)")
    # reservations made, stock given back by cancels, reservations whose answers never
    # reached the worker first, reserve effects failed for good (refused, malformed);
    # what the inventories held under their keys going back at a give-up, and the second
    # inventory serving, are rarer than one walk makes certain (the trouble falls on
    # request ids, which differ from run to run): tests/unit/test_inventory_leaks.py
    # pins each down
    for key in ("reservations made", "released", "refused for good"):
        if not stock[key]:
            missing.append(key)
    if not stock["worker deaths after reserving"] + stock["answers lost after reserving"]:
        missing.append("answers lost after reserving")
    return missing


def test_machine_on_memory() -> None:
    MemoryMachine.stock_counts.clear()
    _run(MemoryMachine, "memory")
    stock = MemoryMachine.stock_counts
    print(f"memory: stock {dict(stock)}")  # the target: 0 leaked, 0 doubled
    assert stock["leaked"] == 0
    assert stock["doubled"] == 0
    if not CI_PROFILE:
        return  # the dev profile's dozen examples are a smoke run, too few to reach every stage
    # the random walk is not stuck at the start: requests are approved, worked, closed,
    # rated. The walk is derandomized, but Hypothesis also draws constants it finds in
    # every module imported so far, so the examples depend on which tests ran first: a
    # walk that missed a stage goes on with up to two random walks (the rarest stage,
    # a phone order shipped, came 4 to 20 times per walk in five walks)
    for _ in range(2):
        if not _not_reached(MemoryMachine):
            break
        run_state_machine_as_test(
            MemoryMachine, settings=settings(_settings("memory"), derandomize=False)
        )
        assert stock["leaked"] == 0
        assert stock["doubled"] == 0
    assert not _not_reached(MemoryMachine), (MemoryMachine.outcomes, dict(stock))
    # its stock room may serve every phone: supplier orders are the empty-stock
    # OvertakeMachine's to run (test_machine_cancels_while_automations_and_held_notices_wait)
    assert_effects_overtaken(MemoryMachine, ran=("automation", "notification"))


def assert_effects_overtaken(
    machine: type[FulfillmentMachine],
    ran: tuple[str, ...] = ("automation", "order", "notification"),
) -> None:
    """Cancels overtook automations, orders and held notices, and approvals overtook
    held "approval needed" notices: each was abandoned (the machine's invariant checks
    that none of them ran)."""
    effects = machine.effects
    for kind, reason in [
        ("AutomationRequested", "request cancelled"),
        # the demo phone's plan starts by asking the inventory (its supplier order comes
        # in the worker run that finds nothing in stock)
        ("StockReservationRequested", "request cancelled"),
        ("held NotificationRequested", "request cancelled"),
        ("held NotificationRequested", "request approved"),
    ]:
        assert effects[f"abandoned {kind}: no longer wanted: {reason}"], (kind, reason, effects)
    for kind in ran:
        assert effects[f"ran {kind}"], (kind, effects)


class OvertakeMachine(FulfillmentMachine):
    """The plain machine, run derandomized to count what its examples reach; its stock
    room is empty, so every phone is ordered from the supplier."""

    inventory_stock: ClassVar[dict[str, int] | None] = {item.id: 0 for item in demo_catalog().items}


def test_machine_cancels_while_automations_and_held_notices_wait() -> None:
    """The same examples every run (under any profile): what they reach is no luck."""
    run_state_machine_as_test(
        OvertakeMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert_effects_overtaken(OvertakeMachine)


def test_machine_on_sqlite() -> None:
    _run(SQLiteMachine, "sqlite")


def _pg_dsn() -> str:
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    reason = ""
    if not dsn:
        reason = "REQFULFILL_PG_DSN is not set"
    else:
        try:
            import psycopg

            psycopg.connect(dsn, connect_timeout=5).close()
        except Exception as exc:  # ImportError or psycopg.Error
            reason = f"cannot reach PostgreSQL at REQFULFILL_PG_DSN: {exc}"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    return dsn


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """One fresh schema for the whole run (dropped after); examples empty its tables."""
    import psycopg
    from psycopg import sql

    dsn = _pg_dsn()
    schema = f"rf_machine_{uuid.uuid4().hex[:10]}"
    yield f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.postgres
def test_machine_on_postgres(pg_schema_url: str) -> None:
    import psycopg
    from psycopg import sql

    from reqfulfill.stores.postgres import PostgresStore, split_url

    store = PostgresStore.from_url(pg_schema_url)
    dsn, schema = split_url(pg_schema_url)
    assert schema is not None
    tables = [
        "rf_events",
        "rf_requests",
        "rf_orders",
        "rf_outbox",
        "rf_timers",
        "rf_request_facts",
        "rf_messages",
        "rf_metric_rollup",  # the metric rollup and what each request contributes to it
        "rf_facts_rolled",
    ]
    truncate = sql.SQL("TRUNCATE {}").format(
        sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
    )

    class PostgresMachine(FulfillmentMachine):
        """A schema per test, emptied per example: a fresh schema per example is slow."""

        def make_service(self) -> FulfillmentService:
            with psycopg.connect(dsn, autocommit=True) as db:
                db.execute(truncate)
            shared: Store = store
            return FulfillmentService(
                self._catalog,
                sla=self.sla_policy,
                store=shared,
                plugins=[*self.suppliers.values(), self.automations, *self.stock_plugins()],
                clock=self.clock,
                id_factory=self.new_request_id,
                load_entrypoints=False,
            )

        def release_store(self) -> None:
            pass  # shared by every example; closed below

    try:
        _run(PostgresMachine, "postgres")
    finally:
        store.close()


class ManagerIsAgentMachine(FulfillmentMachine):
    """A requester whose manager is also an agent: both roles, never self-approval."""

    requesters = (
        Requester("sam.agent", "Sam Agent", "IT", "Helsinki HQ", manager="tia.agent"),
        Requester("tia.agent", "Tia Agent", "IT", "Helsinki HQ", manager="sam.agent"),
    )


def test_machine_with_agents_as_requesters() -> None:
    ManagerIsAgentMachine.steps_run = 0
    run_state_machine_as_test(
        ManagerIsAgentMachine,
        settings=settings(
            max_examples=30 if CI_PROFILE else 8,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert ManagerIsAgentMachine.outcomes["submit accepted"]


class _LyingStore:
    """A memory store that loses the last event of long streams: the machine must notice."""

    def __init__(self) -> None:
        from reqfulfill.stores import MemoryStore

        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def load(self, request_id: str) -> list[object]:
        events = self._inner.load(request_id)
        return events[:-1] if len(events) > 6 else events


class BrokenStoreMachine(FulfillmentMachine):
    def make_service(self) -> FulfillmentService:
        return FulfillmentService(
            self._catalog,
            store=_LyingStore(),  # type: ignore[arg-type]
            plugins=[*self.suppliers.values(), self.automations, *self.stock_plugins()],
            clock=self.clock,
            id_factory=self.new_request_id,
            load_entrypoints=False,
        )


class TooLenientOracleMachine(FulfillmentMachine):
    """An oracle that forbids approvals: the decider's accepted approvals must be flagged."""

    def allowed(self, command: str, actor: str, state: object, task_key: str | None) -> bool:
        if command == "approve":
            return False
        return super().allowed(command, actor, state, task_key)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("machine", "message"),
    [
        (BrokenStoreMachine, "replay"),
        (TooLenientOracleMachine, "is not allowed to approve"),
    ],
)
def test_machine_finds_planted_bugs(machine: type[FulfillmentMachine], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        run_state_machine_as_test(machine, settings=PLANTED)


PLANTED = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples every run: finding the bug is not luck
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)
"""Settings for the planted-bug runs: deterministic, and enough examples to find each."""


class NoRecheckMachine(FulfillmentMachine):
    """The plain machine; its test runs it with a worker that never re-checks."""


def test_machine_finds_a_worker_that_runs_unwanted_effects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the worker asks lifecycle.why_unwanted; a worker that never does must be caught
    monkeypatch.setattr(lifecycle, "why_unwanted", lambda state, effect: None)
    with pytest.raises(AssertionError, match="no longer wanted it"):
        run_state_machine_as_test(NoRecheckMachine, settings=PLANTED)


class IntakeBugMachine(FulfillmentMachine):
    """The plain machine; its test plants bugs in ``receive`` and the message index."""


@pytest.mark.parametrize(
    ("target", "name", "message"),
    [
        # replies no longer found by their thread or [id]: each makes a new request (or
        # is refused for want of a requester)
        ("reqfulfill.service_intake.MessageIntake", "_answered", "reply"),
        # the store forgets which request a message made: a duplicate makes another
        ("reqfulfill.stores.MemoryStore", "find_message", "message|duplicate"),
    ],
)
def test_machine_finds_bugs_in_receive(
    monkeypatch: pytest.MonkeyPatch, target: str, name: str, message: str
) -> None:
    monkeypatch.setattr(f"{target}.{name}", lambda *args: None)
    with pytest.raises(AssertionError, match=message):
        run_state_machine_as_test(IntakeBugMachine, settings=PLANTED)


class AutoTriageMachine(FulfillmentMachine):
    """The machine with auto-triage, where mail comes three times as often: the plain
    walk's one mail rule among forty leaves replies (which need a mail received first)
    to chance."""

    catalog = _catalog_with_auto_triage()

    @rule(data=st.data(), kind=st.sampled_from(["new", "reply", "again"]))
    def more_mail(self, data: st.DataObject, kind: str) -> None:
        self.receive_mail(data, kind)

    @rule(data=st.data(), kind=st.sampled_from(["reply", "new"]))
    def more_replies(self, data: st.DataObject, kind: str) -> None:
        self.receive_mail(data, kind)


def test_machine_receives_mail() -> None:
    """New messages, duplicates, replies and strangers' messages all happen, and
    suggestions triage some requests by themselves."""
    run_state_machine_as_test(AutoTriageMachine, settings=PLANTED)
    outcomes = AutoTriageMachine.outcomes
    for kind in (
        "receive new accepted",
        "receive new triaged by suggestion",
        "receive again accepted",
        "receive reply accepted",
        "receive reply refused (AuthorizationError)",
        "receive from stranger refused (NotFoundError)",
    ):
        assert outcomes[kind], (kind, outcomes)
