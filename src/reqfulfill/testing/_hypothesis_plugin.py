"""The ``hypothesis`` entry point: registers reqfulfill's strategies for its types.

Hypothesis calls :func:`_hypothesis_setup_hook` (the name its entry-point
convention asks for) when it is imported, so ``st.from_type(ServiceItem)``
draws from :func:`reqfulfill.testing.strategies.service_items`. The
strategies module is looked at only when a value is first drawn.
"""

from __future__ import annotations

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
from reqfulfill.model.inventory import StockReservation
from reqfulfill.model.request import ServiceRequest
from reqfulfill.rules import Rule, Rules, RuleSet
from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy

__all__ = ["_hypothesis_setup_hook"]

STRATEGIES: dict[type, str] = {
    Requester: "requesters",
    StockReservation: "stock_reservations",
    SupportGroup: "support_groups",
    TaskTemplate: "task_templates",
    PlanTemplate: "plan_templates",
    ServiceItem: "service_items",
    Catalog: "catalogs",
    Rule: "rules",
    RuleSet: "rule_sets",
    Rules: "routing_rules",
    BusinessCalendar: "calendars",
    EscalationLevel: "escalation_levels",
    SlaPolicy: "sla_policies",
    ServiceRequest: "service_requests",
    Event: "events",
    # every stream starts with one; rarer event types have no strategy of their own
    RequestSubmitted: "submitted_events",
}
"""Each public type with a strategy -> the name of its strategy in ``testing.strategies``."""


def _drawn_by(name: str) -> st.SearchStrategy[object]:
    """The strategy ``testing.strategies.<name>()``, built when a value is first drawn."""

    def build() -> st.SearchStrategy[object]:
        # deferred: hypothesis runs the setup hook while it is being imported, possibly
        # because ``reqfulfill.testing.strategies`` itself is being imported (and is then
        # half-imported), so the strategies module is only looked at on the first draw
        from reqfulfill.testing import strategies

        strategy: st.SearchStrategy[object] = getattr(strategies, name)()
        return strategy

    return st.deferred(build)


def _hypothesis_setup_hook() -> None:
    """Register a strategy for each public reqfulfill type with a strategy."""
    for cls, name in STRATEGIES.items():
        st.register_type_strategy(cls, _drawn_by(name))
