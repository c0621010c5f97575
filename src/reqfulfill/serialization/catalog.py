"""The catalog's data form: a catalog from a table or a TOML/JSON file, checked in full.

:func:`catalog_from_dict` structures the table strictly (every type problem at once,
with the reference problems the raw table already shows), then checks the catalog's
references (:meth:`Catalog.problems <reqfulfill.model.catalog.Catalog.problems>`) and
each task's ``when`` condition in the rule language. ``Catalog.from_dict``,
``Catalog.from_toml`` and the value types' ``from_dict``/``to_dict`` delegate here:
importing this module registers it with the model (``use_data_forms``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from os import PathLike
from types import NoneType, UnionType
from typing import Any, Final, TypeVar, Union, get_args, get_origin

import attrs

from reqfulfill.model.catalog import Catalog, DataForms, use_data_forms
from reqfulfill.model.errors import Problem, ValidationError
from reqfulfill.serialization.config import load_data_file, structure_config, unstructure_config

__all__ = ["PLACEHOLDER", "catalog_from_dict", "catalog_problems", "load_catalog", "repair_data"]

T = TypeVar("T")


def catalog_from_dict(
    data: Mapping[str, Any], *, source: str | None = None, cls: type[Catalog] = Catalog
) -> Catalog:
    """A catalog from its data form, checking types, references and ``when`` conditions;
    ``ValidationError`` lists every problem (``source`` names the file in its message).

    >>> catalog_from_dict({"groups": [], "plans": [], "items": []}).items
    ()
    """
    catalog, found = catalog_problems(data, cls=cls)
    if catalog is None or found:
        raise ValidationError(found, source=source)
    return catalog


def catalog_problems(
    data: Mapping[str, Any], *, cls: type[Catalog] = Catalog
) -> tuple[Catalog | None, list[Problem]]:
    """Every problem of a catalog's data form in one pass, and the catalog as far as it
    loads.

    When a value has the wrong type (a task ``kind`` that does not exist), the
    cross-checks still run: on a copy of the data where each bad value is left out
    (or stands in as a placeholder), so an unknown ``after`` or group elsewhere is
    reported in the same run. The catalog returned then is that stand-in (good enough
    to lint rules against), None when even that does not load.

    >>> _, found = catalog_problems({"groups": [], "items": [], "plans": [{"id": "p",
    ...     "tasks": [{"key": "a", "kind": "magic", "title": "A", "after": ["zz"]}]}]})
    >>> [p.path for p in found]
    ['plans[0].tasks[0].kind', 'plans[0].tasks[0].after[0]']
    """
    try:
        catalog = structure_config(data, cls)
    except ValidationError as error:
        return _salvaged(data, cls, list(error.problems))
    return catalog, catalog.problems(_condition_problems)


def _salvaged(
    data: Mapping[str, Any], cls: type[Catalog], problems: list[Problem]
) -> tuple[Catalog | None, list[Problem]]:
    """The cross-check problems of ``data`` with its ill-typed values replaced."""
    bad = [p.path for p in problems]
    try:
        repaired = repair_data(data, cls, "", frozenset(bad))
        catalog = structure_config(repaired, cls)
    except (_CannotRepair, ValidationError):
        # the raw data still shows unknown groups and plans
        extra = [p for p in _raw_reference_problems(data) if p.path not in bad]
        return None, [*problems, *extra]
    extra = [
        p
        for p in catalog.problems(_condition_problems)
        if not _under_any(p.path, bad) and not _mentions_placeholder(p.value)
    ]
    return catalog, [*problems, *extra]


def load_catalog(path: str | PathLike[str], *, cls: type[Catalog] = Catalog) -> Catalog:
    """A catalog from a TOML (or ``.json``) file: ``[[groups]]``, ``[[plans]]``, ``[[items]]``."""
    return catalog_from_dict(load_data_file(path), source=str(path), cls=cls)


def _condition_problems(condition: Mapping[str, Any], path: str) -> list[Problem]:
    # imported on first use: ``import reqfulfill`` does not load the rule language
    from reqfulfill.rules import condition_problems

    return condition_problems(condition, path)


PLACEHOLDER: Final = "<invalid>"
"""What stands in for a required string whose value was refused."""


class _CannotRepair(Exception):
    """A value with no stand-in."""


def _under_any(path: str, bad: Sequence[str]) -> bool:
    return any(path == b or path.startswith((b + ".", b + "[")) for b in bad)


def _mentions_placeholder(value: object) -> bool:
    if isinstance(value, list | tuple):
        return any(_mentions_placeholder(v) for v in value)
    return value == PLACEHOLDER


def _placeholder(t: Any) -> Any:
    """The data form of a harmless value of type ``t``."""
    if t is str:
        return PLACEHOLDER
    if t is bool:
        return False
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return next(iter(t)).value
    if attrs.has(t):  # an entry that is not a table: one with placeholders in its place
        attrs.resolve_types(t)
        return {
            f.name: _placeholder(f.type)
            for f in attrs.fields(t)
            if f.init and f.default is attrs.NOTHING
        }
    origin = get_origin(t)
    if origin in (tuple, list, Sequence):
        return []
    if origin in (dict, Mapping):
        return {}
    if origin in (Union, UnionType) and NoneType in get_args(t):
        return None
    raise _CannotRepair(t)


def repair_data(data: Any, cls: type[Any], path: str, bad: frozenset[str]) -> dict[str, Any]:
    """A copy of ``data`` (the data form of attrs class ``cls`` at ``path``) that
    structures: unknown keys left out, and each value at a path in ``bad`` left out
    when its field has a default, else a placeholder. ``_CannotRepair`` when no
    stand-in exists."""
    if not isinstance(data, Mapping):
        raise _CannotRepair(path)
    attrs.resolve_types(cls)
    out: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if not field.init:
            continue
        where = f"{path}.{field.name}" if path else field.name
        if where in bad:
            if field.default is attrs.NOTHING:
                out[field.name] = _placeholder(field.type)
        elif field.name in data:
            out[field.name] = _repair_value(data[field.name], field.type, where, bad)
    return out


def _repair_value(value: Any, t: Any, path: str, bad: frozenset[str]) -> Any:
    if not any(b.startswith((path + ".", path + "[")) for b in bad):
        return value
    if attrs.has(t):
        return repair_data(value, t, path, bad)
    origin, args = get_origin(t), get_args(t)
    if origin in (Union, UnionType) and NoneType in args:
        (inner,) = [a for a in args if a is not NoneType]
        return _repair_value(value, inner, path, bad)
    if origin in (tuple, list, Sequence) and isinstance(value, list):
        inner = args[0]
        return [
            _placeholder(inner)
            if f"{path}[{i}]" in bad
            else _repair_value(v, inner, f"{path}[{i}]", bad)
            for i, v in enumerate(value)
        ]
    if origin in (dict, Mapping):
        return {}
    raise _CannotRepair(path)


def _raw_reference_problems(data: object) -> list[Problem]:
    """Unknown groups and plans named by items, read from data that did not structure."""
    if not isinstance(data, Mapping):
        return []

    def ids(kind: str) -> set[str] | None:
        entries = data.get(kind)
        if not isinstance(entries, list):
            return None
        return {e["id"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("id"), str)}

    groups, plans = ids("groups"), ids("plans")
    items = data.get("items")
    found: list[Problem] = []
    if not isinstance(items, list):
        return found
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        for key, known, what in (("group", groups, "group"), ("plan", plans, "plan")):
            value = item.get(key)
            if known is not None and isinstance(value, str) and value not in known:
                found.append(Problem(f"items[{index}].{key}", value, f"unknown {what} {value!r}"))
    return found


class _ConfigForms:
    """The model's ``DataForms``: the catalog types' data forms, done here."""

    def structure(self, data: Mapping[str, Any], cls: type[T], *, source: str | None) -> T:
        return structure_config(data, cls, source=source)

    def unstructure(self, value: object) -> dict[str, Any]:
        data: dict[str, Any] = unstructure_config(value)
        return data

    def catalog(
        self, data: Mapping[str, Any], cls: type[Catalog], *, source: str | None
    ) -> Catalog:
        return catalog_from_dict(data, source=source, cls=cls)

    def load_catalog(self, path: str | PathLike[str], cls: type[Catalog]) -> Catalog:
        return load_catalog(path, cls=cls)


CONFIG_FORMS: DataForms = _ConfigForms()
"""The catalog types' data forms, done by the configuration loaders."""

use_data_forms(CONFIG_FORMS)
