"""The data form of a stage's approvers, registered with the one converter.

A stage's ``approvers`` is written as one of three things: ``"manager"`` (the
requester's manager), ``{ group = "<id>" }`` (the members of a catalog group) or a list
of actor ids. :func:`structure_approvers` reads that into
:class:`~reqfulfill.model.approval.Approvers` strictly (anything else is a
``ValueError`` naming the forms allowed), :func:`unstructure_approvers` writes it back.
Importing this module registers both with :data:`~reqfulfill.serialization.config.converter`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reqfulfill.model.approval import Approvers
from reqfulfill.serialization.config import converter, expect_list

__all__ = ["APPROVERS_FORMS", "structure_approvers", "unstructure_approvers"]

APPROVERS_FORMS = ('"manager"', '{ group = "<id>" }', "a list of actor ids")
"""The forms a stage's ``approvers`` may take, as a reader writes them."""

_EXPECTED = "expected " + ", ".join(APPROVERS_FORMS[:-1]) + " or " + APPROVERS_FORMS[-1]


def structure_approvers(value: Any, _: type = Approvers) -> Approvers:
    """``Approvers`` from its data form (an ``Approvers`` passes as it is)."""
    if isinstance(value, Approvers):
        return value
    if value == "manager":
        return Approvers(manager=True)
    if isinstance(value, Mapping):
        if set(value) != {"group"} or not isinstance(value["group"], str):
            raise ValueError(_EXPECTED)
        return Approvers(group=value["group"])
    if isinstance(value, str):
        raise ValueError(f"unknown approvers {value!r}; {_EXPECTED}")
    try:
        expect_list(value)
    except TypeError:
        raise TypeError(_EXPECTED) from None
    if not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{_EXPECTED} (a non-empty list of strings)")
    return Approvers(actors=tuple(value))


def unstructure_approvers(value: Approvers) -> Any:
    """The data form: ``"manager"``, ``{"group": id}`` or the list of actors."""
    if value.manager:
        return "manager"
    if value.group is not None:
        return {"group": value.group}
    return list(value.actors)


converter.register_structure_hook(Approvers, structure_approvers)
converter.register_unstructure_hook(Approvers, unstructure_approvers)
