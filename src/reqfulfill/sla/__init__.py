"""SLA: business calendars that count business time exactly, and the SLA policies built on them.

The public API is :class:`BusinessCalendar`, :class:`SlaPolicy`,
:class:`EscalationLevel` and :class:`BusinessDays` (targets like ``"2bd"``, with
:func:`add_business_days` saying when they fall due), with the limits a policy is
held to (:data:`MAX_TARGET`, :data:`MAX_HORIZON_YEARS`); see ``docs/sla.md``.
"""

from reqfulfill.sla._business_days import (
    BUSINESS_DAYS_PATTERN,
    MAX_BUSINESS_DAYS,
    BusinessDays,
    Target,
    add_business_days,
    business_days_budget,
    format_target,
    parse_target,
)
from reqfulfill.sla._calendar import (
    CALENDAR_KEYS,
    DEFAULT_HOURS,
    DEFAULT_TIMEZONE,
    INTERVAL_PATTERN,
    WEEKDAYS,
    BusinessCalendar,
    MissingExtraError,
)
from reqfulfill.sla._policy import (
    DEFAULT_ESCALATION,
    ESCALATION_ACTIONS,
    ESCALATION_LEVEL_KEYS,
    MAX_HORIZON_YEARS,
    MAX_TARGET,
    POLICY_KEYS,
    EscalationLevel,
    SlaPolicy,
)

__all__ = [
    "BUSINESS_DAYS_PATTERN",
    "CALENDAR_KEYS",
    "DEFAULT_ESCALATION",
    "DEFAULT_HOURS",
    "DEFAULT_TIMEZONE",
    "ESCALATION_ACTIONS",
    "ESCALATION_LEVEL_KEYS",
    "INTERVAL_PATTERN",
    "MAX_BUSINESS_DAYS",
    "MAX_HORIZON_YEARS",
    "MAX_TARGET",
    "POLICY_KEYS",
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
