"""``reqfulfill db upgrade URL``: create or migrate a store's schema before workers start.

Run it once per deployment (or let the first store object do it): it is safe
to run again and from several machines at once.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reqfulfill.model.errors import ReqfulfillError, ValidationError
from reqfulfill.stores.sqlite import SQLiteStore, path_from_url

__all__ = ["add_commands", "upgrade"]


def upgrade(url: str) -> int:
    """Migrate the store ``url`` names to this release's schema; return its version.

    Supports ``sqlite:///…`` and ``postgresql://…`` URLs; raises
    :class:`~reqfulfill.model.errors.ValidationError` for others.
    """
    if url.startswith("sqlite://"):
        SQLiteStore.from_url(url).close()  # opening migrates
        db = sqlite3.connect(path_from_url(url))
        try:
            row = db.execute("SELECT max(version) FROM rf_schema").fetchone()
        finally:
            db.close()
        return int(row[0])
    if url.startswith(("postgresql://", "postgres://")):
        try:
            # psycopg comes with the postgres extra: imported only for a postgresql:// URL
            from reqfulfill.stores.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ValidationError.single(
                "url",
                url,
                f"PostgreSQL needs the extra: pip install 'reqfulfill[postgres]' ({exc})",
            ) from None
        store = PostgresStore.from_url(url, migrate=False)
        try:
            return store.upgrade()
        finally:
            store.close()
    raise ValidationError.single(
        "url", _redact(url), "db upgrade takes a sqlite:///… or postgresql://… URL"
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _db_upgrade(args: argparse.Namespace) -> int:
    url: str = args.url
    try:
        version = upgrade(url)
    except ReqfulfillError as exc:
        print(f"reqfulfill db upgrade: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the driver's own errors: cannot connect, no permission...
        print(
            f"reqfulfill db upgrade: {_redact(url)}: {type(exc).__name__}: {exc}".rstrip(),
            file=sys.stderr,
        )
        return 2
    if args.json:
        payload: dict[str, Any] = {"url": _redact(url), "schema_version": version}
        print(json.dumps(payload))
    else:
        print(f"{_redact(url)}: schema version {version}")
    return 0


def add_commands(subparsers: Any) -> None:
    """Add the ``db`` command group (``db upgrade URL``) to the CLI's subparsers."""
    db = subparsers.add_parser("db", help="store administration (schema migrations)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser(
        "upgrade",
        help="create or migrate a store's schema and print its version",
        description="Create or migrate the schema of a sqlite:///… or postgresql://… store. "
        "Exit status 0 when the schema is current, 2 when the URL is bad or unreachable.",
    )
    up.add_argument("url", help="store URL, e.g. postgresql://user@host:5432/db?schema=rf")
    up.add_argument("--json", action="store_true", help="machine-readable output")
    up.set_defaults(func=_db_upgrade)
