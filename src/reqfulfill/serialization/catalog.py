"""The catalog's data form: a catalog from a table or a TOML/JSON file, checked in full.

:func:`catalog_from_dict` structures the table strictly (every type problem at once,
with the reference problems the raw table already shows), then checks the catalog's
references (:meth:`Catalog.problems <reqfulfill.model.catalog.Catalog.problems>`) and
each task's ``when`` condition in the rule language. ``Catalog.from_dict``,
``Catalog.from_toml`` and the value types' ``from_dict``/``to_dict`` delegate here:
importing this module registers it with the model (``use_data_forms``).
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any, TypeVar

from reqfulfill.model.catalog import Catalog, DataForms, use_data_forms
from reqfulfill.model.errors import Problem, ValidationError
from reqfulfill.serialization import approval_forms as approval_forms
from reqfulfill.serialization.config import load_data_file, structure_config, unstructure_config

__all__ = ["catalog_from_dict", "load_catalog"]

T = TypeVar("T")


def catalog_from_dict(
    data: Mapping[str, Any], *, source: str | None = None, cls: type[Catalog] = Catalog
) -> Catalog:
    """A catalog from its data form, checking types, references and ``when`` conditions;
    ``ValidationError`` lists every problem (``source`` names the file in its message).

    >>> catalog_from_dict({"groups": [], "plans": [], "items": []}).items
    ()
    """
    try:
        catalog = structure_config(data, cls, source=source)
    except ValidationError as error:
        # report the reference problems too, as far as the raw data shows them,
        # so one run names every problem
        extra = [p for p in _raw_reference_problems(data) if p.path not in error.paths]
        if extra:
            raise ValidationError([*error.problems, *extra], source=source) from None
        raise
    found = catalog.problems(_condition_problems)
    if found:
        raise ValidationError(found, source=source)
    return catalog


def load_catalog(path: str | PathLike[str], *, cls: type[Catalog] = Catalog) -> Catalog:
    """A catalog from a TOML (or ``.json``) file: ``[[groups]]``, ``[[plans]]``, ``[[items]]``."""
    return catalog_from_dict(load_data_file(path), source=str(path), cls=cls)


def _condition_problems(condition: Mapping[str, Any], path: str) -> list[Problem]:
    # imported on first use: ``import reqfulfill`` does not load the rule language
    from reqfulfill.rules import condition_problems

    return condition_problems(condition, path)


def _raw_reference_problems(data: object) -> list[Problem]:
    """Unknown groups, plans and approval policies named by items, read from data that
    did not structure."""
    if not isinstance(data, Mapping):
        return []

    def ids(kind: str) -> set[str] | None:
        entries = data.get(kind)
        if not isinstance(entries, list):
            return None
        return {e["id"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("id"), str)}

    groups, plans = ids("groups"), ids("plans")
    policies = ids("approval_policies") if "approval_policies" in data else set()
    items = data.get("items")
    found: list[Problem] = []
    if not isinstance(items, list):
        return found
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        for key, known, what in (
            ("group", groups, "group"),
            ("plan", plans, "plan"),
            ("approval", policies, "approval policy"),
        ):
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
