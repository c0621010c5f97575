"""PostgreSQL store URLs: the ``schema`` and ``outcome_commit`` parameters the store
reads itself, and the libpq options it passes on (see :mod:`reqfulfill.stores.postgres`)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from reqfulfill.model.errors import ValidationError, mask_password

__all__ = ["connect_timeout_of", "split_url", "store_url", "take_option"]


def split_url(url: str) -> tuple[str, str | None]:
    """Split a store URL into the libpq connection URL and the ``schema`` parameter.

    >>> split_url("postgresql://u@h:5432/db?schema=t1&connect_timeout=5")
    ('postgresql://u@h:5432/db?connect_timeout=5', 't1')
    >>> split_url("postgres://u@h/db")
    ('postgres://u@h/db', None)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValidationError.single(
            "store",
            mask_password(url),
            "a PostgreSQL URL is postgresql://user@host:port/database",
        )
    schema: str | None = None
    kept: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "schema":
            if not value:
                raise ValidationError.single(
                    "store", mask_password(url), "the schema parameter needs a name"
                )
            schema = value
        else:
            kept.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote))), schema


def take_option(url: str, name: str) -> tuple[str, str | None]:
    """``url`` without the query parameter ``name``, and that parameter's value."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    values = [value for key, value in pairs if key == name]
    if not values:
        return url, None
    kept = [(key, value) for key, value in pairs if key != name]
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote))), values[-1]


def connect_timeout_of(dsn: str) -> int | None:
    """The ``connect_timeout`` a libpq URL or connection string gives, if any."""
    try:
        value = conninfo_to_dict(dsn).get("connect_timeout")
    except psycopg.Error as exc:
        raise ValidationError.single(
            "store", mask_password(dsn), f"not a PostgreSQL connection string: {exc}"
        ) from None
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError.single(
            "connect_timeout", value, "expected a whole number of seconds"
        ) from None


def store_url(dsn: str, schema: str | None) -> str:
    """The URL a store was opened with: ``dsn`` and its ``schema`` parameter."""
    if schema is None:
        return dsn
    if "://" not in dsn:  # a key=value connection string
        return f"{dsn} (schema {schema})"
    return f"{dsn}{'&' if '?' in dsn else '?'}{urlencode({'schema': schema})}"
