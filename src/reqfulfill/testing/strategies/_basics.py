"""Building blocks the strategy modules share: ids, names, scalar values, argument checks.

Strategies here are module-level values (hypothesis builds them once); the
``check_*`` functions raise :class:`~hypothesis.errors.InvalidArgument` with
the argument's name, as hypothesis' own strategies do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill.model.enums import Impact

__all__ = [
    "DEFAULT_SUPPLIERS",
    "DEFAULT_TIMEZONES",
    "SLUG_CHARACTERS",
    "WORDS",
    "attributes",
    "check_ids",
    "check_int",
    "check_sizes",
    "lazy",
    "levels",
    "names",
    "numbers",
    "scalars",
    "slugs",
    "words",
]

T = TypeVar("T")

DEFAULT_SUPPLIERS: Final = ("acme-mobile", "globex", "initech")
"""Documented as ``reqfulfill.testing.strategies.DEFAULT_SUPPLIERS``."""

DEFAULT_TIMEZONES: Final = (
    "UTC",
    "Europe/Helsinki",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
"""Documented as ``reqfulfill.testing.strategies.DEFAULT_TIMEZONES``."""

_LOWER: Final = "abcdefghijklmnopqrstuvwxyz"
SLUG_CHARACTERS: Final = _LOWER + "0123456789-"
"""The characters of an id after its first letter."""

WORDS: Final = (
    "Hardware",
    "Software",
    "Access",
    "Network",
    "Mobile",
    "Facilities",
    "IT",
    "Sales",
    "Finance",
    "HEL",
    "NYC",
)
"""Words that read like catalog and directory values (categories, departments, sites)."""

slugs: st.SearchStrategy[str] = st.builds(
    lambda head, rest: head + rest,
    st.sampled_from(_LOWER),
    st.text(alphabet=SLUG_CHARACTERS, max_size=10),
)
names: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(WORDS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)
words: st.SearchStrategy[str] = st.one_of(st.sampled_from(WORDS), slugs)
numbers: st.SearchStrategy[int | float] = st.one_of(
    st.integers(-10_000, 10_000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
)
scalars: st.SearchStrategy[Any] = st.one_of(st.booleans(), numbers, words)
levels: st.SearchStrategy[str] = st.sampled_from([v.value for v in Impact])
attributes: st.SearchStrategy[dict[str, Any]] = st.dictionaries(slugs, scalars, max_size=3)
"""Ids (``slugs``: a lower-case letter, then letters, digits and dashes), display
``names`` (any text, or a word), ``words``, ``numbers``, JSON ``scalars``, impact and
urgency ``levels``, and small ``attributes`` tables of scalars."""


def lazy(build: Callable[[], st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """A strategy built (and its arguments checked) only when it is first drawn from."""
    return st.deferred(build)


def check_int(name: str, value: object, minimum: int = 0) -> int:
    """``value``, checked to be an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be at least {minimum}")
    return value


def check_sizes(prefix: str, low: object, high: object, minimum: int = 0) -> tuple[int, int]:
    """``(min_<prefix>, max_<prefix>)``, checked to be integers in order."""
    lo = check_int(f"min_{prefix}", low, minimum)
    hi = check_int(f"max_{prefix}", high, minimum)
    if lo > hi:
        raise InvalidArgument(f"min_{prefix}={lo!r} is larger than max_{prefix}={hi!r}")
    return lo, hi


def check_ids(name: str, values: object, *, allow_empty: bool = False) -> tuple[str, ...]:
    """``values`` as a tuple, checked to be a sequence of non-empty string ids."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{name}={values!r} must be a sequence of ids")
    out = tuple(values)
    for value in out:
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(f"{name} holds {value!r}, which is not a non-empty string id")
    if not out and not allow_empty:
        raise InvalidArgument(f"{name} must not be empty")
    return out
