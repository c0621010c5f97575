"""PostgreSQL fixtures for the contract tests.

``REQFULFILL_PG_DSN`` names the server (a ``postgresql://`` URL). Without it, or
when the server cannot be reached, PostgreSQL tests are skipped — except under
``CI=true``, where they fail: CI must never pass by skipping the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import pytest


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The PostgreSQL server URL from ``REQFULFILL_PG_DSN``, checked reachable."""
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn:
        _unavailable(
            "REQFULFILL_PG_DSN is not set "
            "(e.g. REQFULFILL_PG_DSN=postgresql://postgres@127.0.0.1:5432/test)"
        )
    if not dsn.startswith(("postgresql://", "postgres://")):
        _unavailable(f"REQFULFILL_PG_DSN must be a postgresql:// URL, not {dsn!r}")
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
    """A store URL for a fresh schema of its own, dropped after the test."""
    import psycopg
    from psycopg import sql

    schema = f"rf_test_{uuid.uuid4().hex[:12]}"
    yield f"{pg_dsn}{'&' if '?' in pg_dsn else '?'}schema={schema}"
    with psycopg.connect(pg_dsn, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
