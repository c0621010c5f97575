"""Pages of query results and the cursors that continue them.

A query's rows are ordered by ``(created_at, request_id)``, a key no two requests
share, and a page continues after the last key of the previous one (keyset paging):
a request created or changed meanwhile never makes a page repeat or skip another.

A cursor is an opaque token: the key of a page's last row and a digest of the
query's filters, with a check value. A cursor that was not made for the same query
(edited, truncated, made up, or from a query with other filters) is a
``ValidationError``. It is a checksum, not a secret: a cursor reveals the creation
time and id of the last request of the page it ends, which the page showed anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeVar, overload

import attrs

from reqfulfill.model.errors import ValidationError
from reqfulfill.stores import RequestSummary, Store
from reqfulfill.stores._base import from_micros, to_micros

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "check_limit",
    "fetch_page",
    "make_cursor",
    "read_cursor",
]

T = TypeVar("T")

DEFAULT_LIMIT = 50
"""Rows per page unless the caller says."""

MAX_LIMIT = 10_000
"""The most rows one page may ask for."""

_VERSION = 1
_MAX_CURSOR = 1_000  # characters: a longer token was not made here
_CHECK_KEY = b"reqfulfill.paging.cursor.v1"


@attrs.frozen
class Page(Sequence[T], Generic[T]):
    """One page of a query: ``items`` in order, and ``next_cursor`` to pass as
    ``cursor=`` for the next page (None on the last page).

    A page is a sequence of its items: iterate it, index it, take its ``len``.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self.items[index]


def check_limit(value: object, path: str = "limit") -> int:
    """``value`` if it is an integer from 1 to :data:`MAX_LIMIT`; else a
    ``ValidationError`` naming ``path``."""
    if isinstance(value, bool) or not isinstance(value, int):
        kind = type(value).__name__
        raise ValidationError.single(path, value, f"expected an integer, got {kind}")
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError.single(path, value, f"expected an integer from 1 to {MAX_LIMIT}")
    return value


def _digest(filters: Sequence[object]) -> str:
    text = json.dumps([str(f) if f is not None else None for f in filters])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _check(body: bytes) -> bytes:
    return hmac.new(_CHECK_KEY, body, hashlib.blake2b).digest()[:12]


def make_cursor(last: tuple[datetime, str], filters: Sequence[object]) -> str:
    """The cursor of a page whose last row has key ``last``, for the query ``filters``."""
    body = json.dumps(
        [_VERSION, to_micros(last[0]), last[1], _digest(filters)], separators=(",", ":")
    ).encode("utf-8")
    return base64.urlsafe_b64encode(body + _check(body)).decode("ascii").rstrip("=")


def read_cursor(cursor: object, filters: Sequence[object]) -> tuple[datetime, str]:
    """The key a cursor continues after; a ``ValidationError`` at ``cursor`` when it was
    not made by :func:`make_cursor` for the same ``filters``."""
    refused = ValidationError.single(
        "cursor", cursor, "not a cursor made for this query (pass the next_cursor of its page)"
    )
    if not isinstance(cursor, str) or not 0 < len(cursor) <= _MAX_CURSOR:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    body, check = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(check, _check(body)):
        raise refused
    try:
        version, micros, request_id, digest = json.loads(body)
    except (ValueError, TypeError):
        raise refused from None
    if (
        version != _VERSION
        or type(micros) is not int
        or not isinstance(request_id, str)
        or digest != _digest(filters)
    ):
        raise refused
    try:
        return from_micros(micros), request_id
    except OverflowError:
        raise refused from None


def fetch_page(
    store: Store,
    filters: Mapping[str, str | None],
    *,
    states: Sequence[str],
    opened: tuple[datetime | None, datetime | None],
    limit: int,
    cursor: str | None,
    fingerprint: Sequence[object],
) -> Page[RequestSummary]:
    """One page of the summaries matching ``filters`` (column filters of
    :meth:`Store.query <reqfulfill.stores.Store.query>`) in any of ``states`` (none:
    any state), created in ``opened``, after ``cursor``.

    With several states, one store read (``Store.query(states=...)``: one statement
    on SQLite and PostgreSQL, one round trip) of one index range scan per state, each
    of at most ``limit + 1`` rows, merged by the database: never a scan of every match.
    ``fingerprint`` names the query a cursor is made for (a cursor of another one
    is refused).
    """
    after = None if cursor is None else read_cursor(cursor, fingerprint)
    # ``states=`` only when there are several: a store written before it (no such
    # parameter) still answers the pages of one state or of any
    several = {"states": states} if len(states) > 1 else {}
    rows = store.query(
        group=filters.get("group"),
        agent=filters.get("agent"),
        item=filters.get("item"),
        requester=filters.get("requester"),
        state=states[0] if len(states) == 1 else None,
        opened_from=opened[0],
        opened_to=opened[1],
        after=after,
        limit=limit + 1,
        **several,
    )
    if len(rows) <= limit:
        return Page(tuple(rows))
    last = rows[limit - 1]
    return Page(tuple(rows[:limit]), make_cursor((last.created_at, last.request_id), fingerprint))
