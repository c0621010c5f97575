"""``reqfulfill db upgrade URL``: create or migrate a store's schema before workers start.

Run it once per deployment (or let the first store object do it): it is safe
to run again and from several machines at once. After the schema it builds the
metric facts of the requests stored before the store kept them (replaying each
history once; see :func:`reqfulfill.service_reads.rebuild_facts`).
"""

from __future__ import annotations

import argparse
import sqlite3
from typing import Any

from reqfulfill.cli.support import check_store_url, driver_errors, dumps, fail, redact
from reqfulfill.model.errors import ReqfulfillError, ValidationError
from reqfulfill.service_reads import rebuild_facts
from reqfulfill.stores.sqlite import SQLiteStore, path_from_url

__all__ = ["add_commands", "upgrade"]


def upgrade(url: str) -> int:
    """Migrate the store ``url`` names to this release's schema; return its version.

    Supports ``sqlite:///…`` and ``postgresql://…`` URLs; raises
    :class:`~reqfulfill.model.errors.ValidationError` for others and
    :class:`~reqfulfill.cli.support.InputError` for malformed ones.
    """
    check_store_url(url)
    if url.startswith("sqlite://"):
        opened = SQLiteStore.from_url(url)  # opening migrates
        try:
            rebuild_facts(opened)
        finally:
            opened.close()
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
            version = store.upgrade()
            rebuild_facts(store)
            return version
        finally:
            store.close()
    raise ValidationError.single(
        "url", redact(url), "db upgrade takes a sqlite:///… or postgresql://… URL"
    )


def _db_upgrade(args: argparse.Namespace) -> int:
    url: str = args.url
    faults: tuple[type[Exception], ...] = (*driver_errors(url), OSError)
    try:
        version = upgrade(url)
    except ReqfulfillError as exc:
        return fail(str(exc), "reqfulfill db upgrade")
    except faults as exc:  # cannot connect, cannot open the file, no permission...
        return fail(f"{redact(url)}: {type(exc).__name__}: {exc}".rstrip(), "reqfulfill db upgrade")
    if args.json:
        payload: dict[str, Any] = {"url": redact(url), "schema_version": version}
        print(dumps(payload, indent=None))
    else:
        print(f"{redact(url)}: schema version {version}")
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
