"""SLA: business calendars that count business time exactly, and the SLA policies built on them.

The public API is :class:`BusinessCalendar`, :class:`SlaPolicy` and
:class:`EscalationLevel`, with the limits a policy is held to (:data:`MAX_TARGET`,
:data:`MAX_HORIZON_YEARS`); see ``docs/sla.md``.
"""

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
    "MAX_HORIZON_YEARS",
    "MAX_TARGET",
    "WEEKDAYS",
    "BusinessCalendar",
    "EscalationLevel",
    "MissingExtraError",
    "SlaPolicy",
]
