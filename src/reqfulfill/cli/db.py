"""``reqfulfill db upgrade STORE``: create or migrate a store's schema before workers start.

Run it once per deployment (or let the first store object do it): it is safe
to run again and from several machines at once. ``STORE`` is a store URL or, as for
``reqfulfill report``, a bare SQLite file path. After the schema it builds the metric
facts of the requests stored before the store kept them (replaying each history once;
see :func:`reqfulfill.service_reads.rebuild_facts`). On a terminal, stderr shows the
schema steps and the time they took.
"""

from __future__ import annotations

import argparse
import sqlite3
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reqfulfill.cli.progress import Progress, shows_progress
from reqfulfill.cli.support import check_store_url, driver_errors, dumps, fail, redact
from reqfulfill.model.errors import ReqfulfillError, ValidationError
from reqfulfill.service_reads import rebuild_facts
from reqfulfill.stores.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION
from reqfulfill.stores.sqlite import SQLiteStore, path_from_url

if TYPE_CHECKING:
    from reqfulfill.stores.postgres import PostgresStore as PostgresStoreType

__all__ = ["add_commands", "current_version", "store_url", "upgrade"]


def store_url(store: str) -> str:
    """The store URL for ``db upgrade STORE``: a URL as it is, a bare path as a
    ``sqlite:///`` URL (a relative path stays relative, an absolute one absolute).

    >>> store_url("data/rf.db"), store_url("/var/lib/rf.db"), store_url("memory://")
    ('sqlite:///data/rf.db', 'sqlite:////var/lib/rf.db', 'memory://')
    """
    return store if "://" in store else "sqlite:///" + store


def current_version(url: str) -> int:
    """The schema version the store ``url`` names has now, without changing it (0 when
    it has none yet: a new file or schema)."""
    check_store_url(url)
    if url.startswith("sqlite://"):
        path = Path(path_from_url(url))
        if not path.is_file():
            return 0
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rf_schema'"
            ).fetchone()
            row = db.execute("SELECT max(version) FROM rf_schema").fetchone() if found else None
        finally:
            db.close()
        return int(row[0]) if row is not None and row[0] is not None else 0
    if url.startswith(("postgresql://", "postgres://")):
        store = _postgres(url)
        try:
            return store.schema_version()
        finally:
            store.close()
    return 0


def _postgres(url: str) -> PostgresStoreType:
    try:
        # psycopg comes with the postgres extra: imported only for a postgresql:// URL
        from reqfulfill.stores.postgres import PostgresStore
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ValidationError.single(
            "url",
            url,
            f"PostgreSQL needs the extra: pip install 'reqfulfill[postgres]' ({exc})",
        ) from None
    return PostgresStore.from_url(url, migrate=False)


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
            if not opened.read_only:  # read-only, all-time metrics scan the facts rows
                opened.roll_up_facts()  # the metric rollup, so the first metrics call is fast
        finally:
            opened.close()
        db = sqlite3.connect(path_from_url(url))
        try:
            row = db.execute("SELECT max(version) FROM rf_schema").fetchone()
        finally:
            db.close()
        return int(row[0])
    if url.startswith(("postgresql://", "postgres://")):
        store = _postgres(url)
        try:
            version = store.upgrade()
            rebuild_facts(store)
            store.roll_up_facts()  # the metric rollup, so the first metrics call is fast
            return version
        finally:
            store.close()
    raise ValidationError.single(
        "url", redact(url), "db upgrade takes a sqlite:///… or postgresql://… URL"
    )


def _latest(url: str) -> int | None:
    """This release's schema version for ``url``'s kind of store."""
    if url.startswith("sqlite://"):
        return SQLITE_SCHEMA_VERSION
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from reqfulfill.stores.postgres import SCHEMA_VERSION
        except ImportError:  # pragma: no cover - depends on the extra; upgrade() says so
            return None
        return SCHEMA_VERSION
    return None


def _db_upgrade(args: argparse.Namespace) -> int:
    url = store_url(args.url)
    faults: tuple[type[Exception], ...] = (*driver_errors(url), OSError)
    try:
        latest = _latest(url)
        shown = shows_progress(enabled=not args.json) and latest is not None
        before = current_version(url) if shown and latest is not None else 0
        steps = max(0, (latest or 0) - before)
        label = f"db upgrade {redact(url)}: schema {before} -> {latest}"
        with Progress(steps, label, enabled=shown, unit="steps") as bar:
            version = upgrade(url)
            bar.advance(steps)
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
    db = subparsers.add_parser(
        "db",
        help="store administration: create or migrate a store's schema (db upgrade)",
        description=textwrap.fill(
            "Store administration. 'reqfulfill db upgrade STORE' creates or migrates "
            "the schema of a SQLite file or a PostgreSQL database before workers start; it is "
            "safe to run again and from several machines at once."
        ),
    )
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser(
        "upgrade",
        help="create or migrate a store's schema and print its version",
        description=textwrap.fill(
            "Create or migrate the schema of a SQLite file or a PostgreSQL database. "
            "Exit status 0 when the schema is current, 2 when the store is bad or unreachable."
        ),
        epilog="examples:\n"
        "  reqfulfill db upgrade data/reqfulfill.db\n"
        "  reqfulfill db upgrade sqlite:////var/lib/reqfulfill/rf.db\n"
        "  reqfulfill db upgrade 'postgresql://rf@db:5432/itsm?schema=rf'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "url",
        metavar="STORE",
        help="a SQLite file path, sqlite:///PATH, or postgresql://user@host:5432/db?schema=rf",
    )
    up.add_argument("--json", action="store_true", help="machine-readable output")
    up.set_defaults(func=_db_upgrade)
