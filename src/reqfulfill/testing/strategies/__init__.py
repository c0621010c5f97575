"""Hypothesis strategies for reqfulfill's public types, valid by construction.

Every strategy is named with the plural of what it draws, takes keyword-only
arguments with defaults and reports bad arguments (``InvalidArgument``) when
it is drawn from, as hypothesis' own strategies do::

    from hypothesis import given
    from reqfulfill.testing.strategies import catalogs, rule_sets

    @given(catalogs(max_items=3))
    def test_catalog_round_trips(catalog):
        assert Catalog.from_dict(catalog.to_dict()) == catalog

Drawn catalogs pass ``Catalog.validate``, drawn conditions compile, drawn
rule sets build, and every type with a data form survives
``X.from_dict(x.to_dict()) == x``. With the ``hypothesis`` entry point
installed, ``st.from_type(ServiceItem)`` and friends use these strategies.
Needs the ``testing`` extra (``pip install 'reqfulfill[testing]'``).
"""

from __future__ import annotations

from typing import Final

from reqfulfill.testing.strategies import _basics
from reqfulfill.testing.strategies._approvals import (
    approval_policies,
    approval_stages,
    catalogs_with_policies,
)
from reqfulfill.testing.strategies._catalog import (
    catalogs,
    plan_templates,
    requesters,
    service_items,
    stock_reservations,
    support_groups,
    task_templates,
)
from reqfulfill.testing.strategies._commands import (
    answers,
    channels,
    command_sequences,
    submissions,
)
from reqfulfill.testing.strategies._histories import (
    events,
    histories,
    requests,
    service_requests,
    submitted_events,
)
from reqfulfill.testing.strategies._rules import (
    conditions,
    priority_matrices,
    routing_rules,
    rule_sets,
    rules,
)
from reqfulfill.testing.strategies._sla import calendars, escalation_levels, sla_policies

DEFAULT_SUPPLIERS: Final = _basics.DEFAULT_SUPPLIERS
"""The supplier ids :func:`service_items` and :func:`catalogs` draw from by default."""

DEFAULT_TIMEZONES: Final = _basics.DEFAULT_TIMEZONES
"""The zones :func:`calendars` draws from: no DST, DST both ways, half-hour offsets."""

__all__ = [
    "DEFAULT_SUPPLIERS",
    "DEFAULT_TIMEZONES",
    "answers",
    "approval_policies",
    "approval_stages",
    "calendars",
    "catalogs",
    "catalogs_with_policies",
    "channels",
    "command_sequences",
    "conditions",
    "escalation_levels",
    "events",
    "histories",
    "plan_templates",
    "priority_matrices",
    "requesters",
    "requests",
    "routing_rules",
    "rule_sets",
    "rules",
    "service_items",
    "service_requests",
    "sla_policies",
    "stock_reservations",
    "submissions",
    "submitted_events",
    "support_groups",
    "task_templates",
]
