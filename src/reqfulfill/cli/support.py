"""What every command of the CLI shares: one-line failures, strict JSON output, store URLs.

* :class:`Parser` -- an ``ArgumentParser`` whose usage errors are one line;
* :class:`InputError` -- input a command cannot use (a missing file, a bad URL, a file
  that is not a store); like every :class:`~reqfulfill.model.errors.ReqfulfillError`,
  ``main`` reports it in one line on stderr with exit status 2;
* :func:`one_line` -- a message folded onto one line;
* :func:`dumps` -- ``--json`` output: strict JSON, a number that is not finite is ``null``;
* :func:`redact`, :func:`check_store_url`, :func:`existing_store_url`,
  :func:`driver_errors` -- store URLs checked before a driver sees them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.stores.sqlite import path_from_url

__all__ = [
    "EXIT_USAGE",
    "InputError",
    "Parser",
    "check_store_url",
    "driver_errors",
    "dumps",
    "existing_store_url",
    "fail",
    "one_line",
    "redact",
]

EXIT_USAGE = 2
"""The exit status of bad usage or input the command cannot use."""


class InputError(ReqfulfillError):
    """Input a command cannot use; the message names the file (and line) or the URL."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit with status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined, ``;`` between items of a list.

    >>> one_line("catalog.toml: 2 problems:\\n  a: bad\\n  b: worse")
    'catalog.toml: 2 problems: a: bad; b: worse'
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = lines[0] if lines else ""
    for line in lines[1:]:
        out += (" " if out.endswith(":") else "; ") + line
    return out


def fail(message: str, prefix: str = "reqfulfill") -> int:
    """Print ``PREFIX: MESSAGE`` as one line on stderr; return :data:`EXIT_USAGE`."""
    print(f"{prefix}: {one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def _finite(data: Any) -> Any:
    """``data`` with every float that is not finite replaced by ``None``."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as strict JSON for ``--json`` output: ``NaN`` and infinities become ``null``
    (never the ``NaN``/``Infinity`` that ``json.dumps`` writes by default); values JSON
    has no form for are written as text.

    >>> dumps({"rate": float("nan"), "n": [1.5, float("inf")]}, indent=None)
    '{"rate": null, "n": [1.5, null]}'
    """
    return json.dumps(_finite(data), indent=indent, allow_nan=False, default=str)


# -- store URLs ------------------------------------------------------------------------

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def redact(url: str) -> str:
    """``url`` with any password masked; works on URLs too malformed to parse.

    >>> redact("postgresql://rf:s3cret@db/itsm"), redact("postgresql://rf:s3cret@[::1")
    ('postgresql://rf:***@db/itsm', 'postgresql://rf:***@[::1')
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return _PASSWORD.sub(r"\1***@", url, count=1)
    if password is None:
        return url
    netloc = parts.netloc.replace(":" + password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_store_url(url: str) -> None:
    """Raise :class:`InputError` when a ``postgresql://`` or ``sqlite:///`` URL is
    malformed (the driver would fail on it with its own exception types).

    >>> check_store_url("postgresql://rf@db:5432/itsm?schema=rf")
    >>> check_store_url("postgresql://rf@[::1/itsm")
    Traceback (most recent call last):
    ...
    reqfulfill.cli.support.InputError: postgresql://rf@[::1/itsm: malformed URL: Invalid IPv6 URL
    """
    if url.startswith("sqlite:"):
        path_from_url(url)
        return
    if not url.startswith(("postgresql://", "postgres://")):
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        raise InputError(f"{redact(url)}: malformed URL: {exc}") from None
    bad = _BAD_ESCAPE.search(url)
    if bad is not None:
        raise InputError(f"{redact(url)}: malformed URL: '%' must start an escape like %40")


def existing_store_url(db: str) -> str:
    """The store URL for a command that only reads a store (``report``): a path or
    ``sqlite:///`` URL must name an existing reqfulfill SQLite store, which is opened
    read-only to check -- nothing is created; other URLs are checked for form only."""
    url = db if "://" in db else "sqlite:///" + db
    check_store_url(url)
    if not url.startswith("sqlite:"):
        return url
    path = Path(path_from_url(url))
    if not path.exists():
        raise InputError(f"{db}: no such store file (give an existing SQLite store)")
    if not path.is_file():
        raise InputError(f"{db}: not a file (give an existing SQLite store)")
    try:
        db_uri = path.resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(db_uri, uri=True)
        try:
            connection.execute("SELECT version FROM rf_schema").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise InputError(f"{db}: not a reqfulfill store ({exc})") from None
    return url


def driver_errors(url: str) -> tuple[type[Exception], ...]:
    """The exception types a store's driver raises for ``url`` when it cannot connect,
    open or read: ``main`` reports them in one line, they are not bugs."""
    errors: list[type[Exception]] = [sqlite3.Error]
    if url.startswith(("postgresql://", "postgres://")):
        try:
            # the driver comes with the postgres extra: imported only for its URLs
            from psycopg import Error as PostgresError
        except ImportError:  # pragma: no cover - depends on the extra
            pass
        else:
            errors.append(PostgresError)
    return tuple(errors)
