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

    def drawn_by(name: str, *args: object) -> st.SearchStrategy[object]:
        # deferred: hypothesis runs this hook while it is being imported, possibly
        # because ``reqfulfill.testing.strategies`` itself is being imported, so the
        # strategies module is only looked at when a value is first drawn
        def build() -> st.SearchStrategy[object]:
            from reqfulfill.testing import strategies as rs

            strategy: st.SearchStrategy[object] = getattr(rs, name)(*args)
            return strategy

        return st.deferred(build)

    registrations: list[tuple[type, st.SearchStrategy[object]]] = [
        (Requester, drawn_by("requesters")),
        (SupportGroup, drawn_by("support_groups")),
        (TaskTemplate, drawn_by("task_templates")),
        (PlanTemplate, drawn_by("plan_templates")),
        (ServiceItem, drawn_by("service_items")),
        (Catalog, drawn_by("catalogs")),
        (Rule, drawn_by("rules")),
        (RuleSet, drawn_by("rule_sets")),
        (Rules, drawn_by("routing_rules")),
        (BusinessCalendar, drawn_by("calendars")),
        (EscalationLevel, drawn_by("escalation_levels")),
        (SlaPolicy, drawn_by("sla_policies")),
        (ServiceRequest, drawn_by("service_requests")),
        (Event, drawn_by("events")),
        # every stream starts with one; rarer event types have no strategy of their own
        (RequestSubmitted, drawn_by("submitted_events")),
    ]
    for cls, strategy in registrations:
        st.register_type_strategy(cls, strategy)
