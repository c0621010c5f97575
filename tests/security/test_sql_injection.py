"""SQL is parameterised: a grep-level check of the SQL stores, and injection attempts
through request ids, answers and supplier refs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from reqfulfill import FulfillmentService, Worker
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import OrderStatus, RequestState
from reqfulfill.testing import FakeSupplier

STORES = Path(__file__).parents[2] / "src" / "reqfulfill" / "stores"
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|DROP|CREATE)\b")
# identifiers that may be formatted into SQL: a fixed whitelist of column names and
# the schema name, quoted by psycopg.sql.Identifier
ALLOWED_FORMATTED = {"column", "int(busy_timeout.total_seconds() * 1000)"}
INJECTION = "x'); DROP TABLE rf_events; --"


def _formatted_sql(path: Path) -> list[str]:
    """Lines that build SQL text from values: f-strings, .format() or % with SQL words."""
    bad: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        if not SQL_WORDS.search(code) and "PRAGMA" not in code:
            continue
        for expr in re.findall(r'f"[^"]*\{([^}]*)\}', code) + re.findall(
            r"f'[^']*\{([^}]*)\}", code
        ):
            if expr.strip() not in ALLOWED_FORMATTED:
                bad.append(f"{path.name}:{number}: f-string with {{{expr}}}")
        if re.search(r'["\']\s*\.format\(', code) or re.search(r'["\']\s*%\s*[(\w]', code):
            bad.append(f"{path.name}:{number}: {code.strip()}")
    return bad


@pytest.mark.parametrize("name", ["sqlite.py", "postgres.py", "memory.py", "_base.py"])
def test_sql_text_is_never_built_from_values(name: str) -> None:
    assert _formatted_sql(STORES / name) == []


def test_the_grep_catches_value_formatting(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "db.execute(f\"SELECT * FROM rf_events WHERE request_id = '{request_id}'\")\n"
        'db.execute("DELETE FROM rf_outbox WHERE effect_id = %s" % effect_id)\n'
        'db.execute("UPDATE rf_timers SET due = {}".format(due))\n'
    )
    assert len(_formatted_sql(sample)) == 3


def _pg_url() -> str:
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("REQFULFILL_PG_DSN is not set (CI=true: PostgreSQL tests must run)")
        pytest.skip("REQFULFILL_PG_DSN is not set")
    import uuid

    return f"{dsn}{'&' if '?' in dsn else '?'}schema=rf_sec_{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rf_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/rf.db"
        return
    url = _pg_url()
    yield url
    import psycopg
    from psycopg import sql

    from reqfulfill.stores.postgres import split_url

    dsn, schema = split_url(url)
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


class InjectingSupplier(FakeSupplier):
    """A supplier whose order references are injection attempts."""

    def place_order(self, order, idempotency_key):  # type: ignore[no-untyped-def]
        receipt = super().place_order(order, idempotency_key)
        known = self._by_ref.pop(receipt.ref)
        known.ref = INJECTION + receipt.ref
        self._by_ref[known.ref] = known
        return type(receipt)(known.ref, receipt.status)


@pytest.fixture
def rf_fake_supplier() -> FakeSupplier:
    return InjectingSupplier("acme-mobile")


def test_injection_through_ids_answers_and_refs_round_trips(
    rf_service: FulfillmentService, rf_fake_supplier: FakeSupplier, rf_worker: Worker
) -> None:
    hostile = Requester(INJECTION, "Robert'); DROP TABLE rf_requests;--", "D", "L", manager="m")
    answers = {INJECTION: INJECTION, "note": "' OR '1'='1", "quantity": 1}
    request = rf_service.submit(hostile, "iphone-15", "portal", answers, request_id=INJECTION)
    assert request.id == INJECTION
    rf_service.approve(INJECTION, "m")
    rf_worker.run_pending()
    placed = rf_service.get(INJECTION).task("order")
    assert placed.order_ref is not None
    assert placed.order_ref.startswith(INJECTION)
    # the supplier pushes a status for the hostile ref: found by ref, applied
    after = rf_service.record_supplier_update("acme-mobile", placed.order_ref, OrderStatus.SHIPPED)
    assert after.task("order").order_status is OrderStatus.SHIPPED
    assert rf_service.store.find_order("acme-mobile", placed.order_ref) == INJECTION
    # everything round-trips and the tables survive
    got = rf_service.get(INJECTION)
    assert got.answers == answers
    assert got.requester == hostile
    assert rf_service.queue(state=RequestState.IN_FULFILLMENT)[0].id == INJECTION
    assert [s.request_id for s in rf_service.store.query(requester=INJECTION)] == [INJECTION]
    assert rf_service.store.query(requester="' OR '1'='1") == []
    other = rf_service.submit(hostile, "password-reset", "portal")
    assert len(rf_service.history(other.id)) > 1
    assert rf_service.history(INJECTION)[0].request_id == INJECTION
