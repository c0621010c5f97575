"""``reqfulfill db upgrade URL`` (the ``reqfulfill.cli.db`` command group)."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from reqfulfill.cli.db import add_commands
from reqfulfill.stores.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reqfulfill")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


def test_sqlite_upgrade_creates_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new" / "store.db"
    assert _run(["db", "upgrade", f"sqlite:///{path}"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"schema version {SQLITE_SCHEMA_VERSION}")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM rf_events").fetchone() == (0,)


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    assert _run(["db", "upgrade", "--json", url]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "url": url,
        "schema_version": SQLITE_SCHEMA_VERSION,
    }


@pytest.mark.postgres
def test_postgres_upgrade_is_idempotent(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from reqfulfill.stores.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION

    assert _run(["db", "upgrade", pg_url]) == 0
    assert _run(["db", "upgrade", "--json", pg_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(f"schema version {PG_SCHEMA_VERSION}")
    assert json.loads(out[1])["schema_version"] == PG_SCHEMA_VERSION


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memory://", "sqlite:///"),
        ("ftp://example.org/x", "sqlite:///"),
        ("postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2", "OperationalError"),
    ],
)
def test_bad_or_unreachable_urls_exit_2(
    url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["db", "upgrade", url]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert ":pw@" not in err
