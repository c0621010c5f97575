"""Reading many requests' streams at once (``Store.load_many``): the check of its
arguments, the SQL stores' statements (one each, one round trip: the ids and their
versions go as one parameter) and the rows grouped into streams.

A page of full requests (``service.queue(...)``) reads its 50 streams with one
statement instead of 50: on PostgreSQL that is one round trip, not 50.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reqfulfill.model.errors import ValidationError
from reqfulfill.model.events import Event
from reqfulfill.stores._base import decode_events

__all__ = [
    "MAX_BATCH",
    "PG_LOAD_MANY",
    "SQLITE_LOAD_MANY",
    "check_load_many",
    "pg_params",
    "sqlite_params",
    "streams",
]

MAX_BATCH = 10_000
"""The most request ids one :meth:`~reqfulfill.stores.Store.load_many` call reads."""

# The ids and versions as one JSON array of [id, version] pairs; CROSS JOIN keeps
# json_each the outer loop, so each pair is a range of the (request_id, version) key.
SQLITE_LOAD_MANY = (
    "SELECT e.request_id, e.version, e.payload FROM json_each(?) AS w"
    " CROSS JOIN rf_events AS e"
    " WHERE e.request_id = json_extract(w.value, '$[0]')"
    " AND e.version > json_extract(w.value, '$[1]')"
    " ORDER BY e.request_id, e.version"
)

# The ids and versions as two arrays; each pair is a range of the primary key.
PG_LOAD_MANY = (
    "SELECT e.request_id, e.version, e.payload"
    " FROM unnest(%s::text[], %s::integer[]) AS w(request_id, after)"
    " JOIN rf_events AS e ON e.request_id = w.request_id AND e.version > w.after"
    " ORDER BY e.request_id, e.version"
)

_MAX_VERSION = 2**31 - 1  # an integer column's largest value


def check_load_many(request_ids: object, after: object) -> dict[str, int]:
    """``load_many``'s arguments checked: each distinct id (in the order first given)
    with the version to read after (``after``'s, else 0). A ``ValidationError`` for
    ids that are not a list or tuple of strings (a single string is refused: it
    would be read as its letters), more than :data:`MAX_BATCH` of them, or an
    ``after`` that is not a mapping of those ids to whole numbers."""
    if not isinstance(request_ids, list | tuple):
        raise ValidationError.single("request_ids", request_ids, "expected a list of request ids")
    if len(request_ids) > MAX_BATCH:
        raise ValidationError.single(
            "request_ids", len(request_ids), f"at most {MAX_BATCH} request ids at once"
        )
    wanted: dict[str, int] = {}
    for index, request_id in enumerate(request_ids):
        if not isinstance(request_id, str):
            raise ValidationError.single(
                f"request_ids[{index}]", request_id, "expected a request id (a string)"
            )
        wanted[request_id] = 0
    if after is None:
        return wanted
    if not isinstance(after, Mapping):
        raise ValidationError.single("after", after, "expected a mapping of request id to version")
    for request_id, version in after.items():
        if request_id not in wanted:
            raise ValidationError.single(
                f"after[{request_id!r}]", version, "not one of request_ids"
            )
        if (
            isinstance(version, bool)
            or not isinstance(version, int)
            or not -_MAX_VERSION <= version <= _MAX_VERSION
        ):
            raise ValidationError.single(
                f"after[{request_id!r}]", version, "expected a whole number (a version)"
            )
        wanted[request_id] = version
    return wanted


def sqlite_params(wanted: Mapping[str, int]) -> tuple[str]:
    """:data:`SQLITE_LOAD_MANY`'s parameter."""
    return (json.dumps([[request_id, version] for request_id, version in wanted.items()]),)


def pg_params(wanted: Mapping[str, int]) -> tuple[list[str], list[int]]:
    """:data:`PG_LOAD_MANY`'s parameters."""
    return list(wanted), list(wanted.values())


def streams(
    url: str, operation: str, wanted: Sequence[str], rows: Iterable[Sequence[Any]]
) -> dict[str, list[Event]]:
    """Each of ``wanted`` to its events from rows (request_id, version, JSON payload)
    in version order per request (``[]`` for an id without rows); a payload that does
    not decode is a ``StoreError`` naming the request and the version."""
    grouped: dict[str, list[tuple[int, Any]]] = {request_id: [] for request_id in wanted}
    for request_id, version, payload in rows:
        grouped[request_id].append((version, payload))
    return {
        request_id: decode_events(url, operation, request_id, found)
        for request_id, found in grouped.items()
    }
