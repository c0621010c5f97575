"""SLA: business calendars that count business time exactly, and the SLA policies built on them.

The public API is :class:`BusinessCalendar`, :class:`SlaPolicy`,
:class:`EscalationLevel` and :class:`BusinessDays` (targets like ``"2bd"``, with
:func:`add_business_days` saying when they fall due), with the limits a policy is
held to (:data:`MAX_TARGET`, :data:`MAX_HORIZON_YEARS`); see ``docs/sla.md``.
"""

from reqfulfill.sla._business_days import (
    MAX_BUSINESS_DAYS,
    BusinessDays,
    Target,
    add_business_days,
    business_days_budget,
    format_target,
    parse_target,
)
from reqfulfill.sla._calendar import (
    DEFAULT_HOURS,
    DEFAULT_TIMEZONE,
    WEEKDAYS,
    BusinessCalendar,
    MissingExtraError,
)
from reqfulfill.sla._policy import (
    DEFAULT_ESCALATION,
    ESCALATION_ACTIONS,
    MAX_HORIZON_YEARS,
    MAX_TARGET,
    EscalationLevel,
    SlaPolicy,
)

__all__ = [
    "DEFAULT_ESCALATION",
    "DEFAULT_HOURS",
    "DEFAULT_TIMEZONE",
    "ESCALATION_ACTIONS",
    "MAX_BUSINESS_DAYS",
    "MAX_HORIZON_YEARS",
    "MAX_TARGET",
    "WEEKDAYS",
    "BusinessCalendar",
    "BusinessDays",
    "EscalationLevel",
    "MissingExtraError",
    "SlaPolicy",
    "Target",
    "add_business_days",
    "business_days_budget",
    "format_target",
    "parse_target",
]
