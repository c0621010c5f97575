"""The ``hypothesis`` entry point: registers reqfulfill's strategies for its types.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported, so
``st.from_type(ServiceItem)`` draws from
:func:`reqfulfill.testing.strategies.service_items`. Importing this module
costs nothing; the strategies module is imported only by the hook.
"""

from __future__ import annotations

__all__ = ["_hypothesis_setup_hook"]


def _hypothesis_setup_hook() -> None:
    """Register a strategy for each public reqfulfill type with a strategy."""
    from hypothesis import strategies as st

    from reqfulfill.model.catalog import (
        Catalog,
        PlanTemplate,
        Requester,
        ServiceItem,
        SupportGroup,
        TaskTemplate,
    )
    from reqfulfill.model.events import Event, RequestSubmitted
    from reqfulfill.model.request import ServiceRequest
    from reqfulfill.rules import Rule, Rules, RuleSet
    from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy
    from reqfulfill.testing import strategies as rs

    registrations: list[tuple[type, st.SearchStrategy[object]]] = [
        (Requester, rs.requesters()),
        (SupportGroup, rs.support_groups()),
        (TaskTemplate, rs.task_templates()),
        (PlanTemplate, rs.plan_templates()),
        (ServiceItem, rs.service_items()),
        (Catalog, rs.catalogs()),
        (Rule, rs.rules()),
        (RuleSet, rs.rule_sets()),
        (Rules, rs.routing_rules()),
        (BusinessCalendar, rs.calendars()),
        (EscalationLevel, rs.escalation_levels()),
        (SlaPolicy, rs.sla_policies()),
        (ServiceRequest, rs.service_requests()),
        (Event, rs.events()),
        # every stream starts with one; rarer event types have no strategy of their own
        (RequestSubmitted, rs.histories(max_steps=0).map(lambda pair: pair[0][0])),
    ]
    for cls, strategy in registrations:
        st.register_type_strategy(cls, strategy)
