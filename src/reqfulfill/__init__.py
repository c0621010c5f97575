"""reqfulfill: the fulfillment logic of IT service request management.

The public API is :class:`FulfillmentService` (commands and queries on service
requests), :class:`Worker` (runs supplier orders, notifications, automations
and SLA timers), the domain types and errors re-exported here, and the
submodules :mod:`~reqfulfill.lifecycle`, :mod:`~reqfulfill.rules` and
:mod:`~reqfulfill.sla`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reqfulfill import lifecycle
from reqfulfill._hooks import hookimpl
from reqfulfill.clock import Clock, FixedClock, SystemClock
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.catalog import (
    Catalog,
    PlanTemplate,
    Requester,
    ServiceItem,
    SupportGroup,
    TaskTemplate,
)
from reqfulfill.model.enums import (
    Channel,
    Impact,
    OrderStatus,
    Priority,
    RequestState,
    TaskKind,
    TaskState,
    Urgency,
)
from reqfulfill.model.errors import (
    AuthorizationError,
    AutomationError,
    ConcurrencyError,
    NotFoundError,
    Problem,
    ReqfulfillError,
    StoreError,
    SupplierError,
    TransitionError,
    ValidationError,
)
from reqfulfill.model.events import (
    ApprovalRequested,
    AutomationRequested,
    DeliveryDisputed,
    EffectAbandoned,
    EffectAttempted,
    Event,
    FeedbackRecorded,
    ItemDelivered,
    ItemShipped,
    NotificationRequested,
    NotificationSent,
    PlannedTask,
    PlanStarted,
    RequestApproved,
    RequestAssigned,
    RequestCancelled,
    RequestCategorized,
    RequestClaimed,
    RequestClosed,
    RequesterNotified,
    RequestEscalated,
    RequestFulfilled,
    RequestPrioritized,
    RequestQueuedForTriage,
    RequestRejected,
    RequestResumed,
    RequestSubmitted,
    RequestTriaged,
    RequestWaiting,
    ReviewRequested,
    SlaBreached,
    SlaPaused,
    SlaResumed,
    SlaRetargeted,
    SlaStarted,
    SlaStopped,
    SlaThresholdReached,
    SupplierOrderCancelRequested,
    SupplierOrderPlaced,
    SupplierOrderRequested,
    SupplierOrderUpdated,
    TaskCompleted,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
)
from reqfulfill.model.request import (
    Approval,
    Assignment,
    Feedback,
    ServiceRequest,
    SlaStatus,
    Task,
)
from reqfulfill.model.supplier import Notification, OrderLine, OrderReceipt, SupplierOrder
from reqfulfill.plugins import get_plugin_manager, open_store
from reqfulfill.service import FulfillmentService, Progress
from reqfulfill.stores import Store

if TYPE_CHECKING:
    from reqfulfill import rules, sla
    from reqfulfill.feedback import FeedbackPolicy
    from reqfulfill.metrics import MetricsRow
    from reqfulfill.rules import Decision, PriorityMatrix, Rule, Rules, RuleSet
    from reqfulfill.rules.analysis import Finding
    from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy
    from reqfulfill.worker import Worker

# public names loaded on first use: name -> module that defines it
_LAZY = {
    "Rules": "reqfulfill.rules",
    "Rule": "reqfulfill.rules",
    "RuleSet": "reqfulfill.rules",
    "Decision": "reqfulfill.rules",
    "PriorityMatrix": "reqfulfill.rules",
    "Finding": "reqfulfill.rules.analysis",
    "BusinessCalendar": "reqfulfill.sla",
    "SlaPolicy": "reqfulfill.sla",
    "EscalationLevel": "reqfulfill.sla",
    "FeedbackPolicy": "reqfulfill.feedback",
    "MetricsRow": "reqfulfill.metrics",
}

__version__: str


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562), to keep ``import reqfulfill`` short: the rules
    # and SLA packages (~15 ms, imported by a service only when it is built), the
    # worker, and ``__version__`` (importlib.metadata costs ~40 ms)
    if name in ("rules", "sla") or name in _LAZY:
        # importing a submodule binds it here (``from reqfulfill import`` would recurse)
        import reqfulfill.feedback
        import reqfulfill.metrics
        import reqfulfill.rules
        import reqfulfill.rules.analysis
        import reqfulfill.sla

        if name in _LAZY:
            module = {
                "reqfulfill.rules": reqfulfill.rules,
                "reqfulfill.rules.analysis": reqfulfill.rules.analysis,
                "reqfulfill.sla": reqfulfill.sla,
                "reqfulfill.feedback": reqfulfill.feedback,
                "reqfulfill.metrics": reqfulfill.metrics,
            }[_LAZY[name]]
            globals()[name] = getattr(module, name)
        return globals()[name]
    if name == "Worker":
        from reqfulfill.worker import Worker

        globals()["Worker"] = Worker
        return Worker
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("reqfulfill")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Approval",
    "ApprovalRequested",
    "Assignment",
    "AuthorizationError",
    "AutomationError",
    "AutomationRequested",
    "BusinessCalendar",
    "Catalog",
    "Channel",
    "Clock",
    "ConcurrencyError",
    "Decision",
    "DeliveryDisputed",
    "EffectAbandoned",
    "EffectAttempted",
    "EscalationLevel",
    "Event",
    "Feedback",
    "FeedbackPolicy",
    "FeedbackRecorded",
    "Finding",
    "FixedClock",
    "FulfillmentService",
    "Impact",
    "ItemDelivered",
    "ItemShipped",
    "MetricsRow",
    "NotFoundError",
    "Notification",
    "NotificationRequested",
    "NotificationSent",
    "OrderLine",
    "OrderReceipt",
    "OrderStatus",
    "PlanStarted",
    "PlanTemplate",
    "PlannedTask",
    "Priority",
    "PriorityMatrix",
    "Problem",
    "Progress",
    "ReqfulfillError",
    "RequestApproved",
    "RequestAssigned",
    "RequestCancelled",
    "RequestCategorized",
    "RequestClaimed",
    "RequestClosed",
    "RequestEscalated",
    "RequestFulfilled",
    "RequestPrioritized",
    "RequestQueuedForTriage",
    "RequestRejected",
    "RequestResumed",
    "RequestState",
    "RequestSubmitted",
    "RequestTriaged",
    "RequestWaiting",
    "Requester",
    "RequesterNotified",
    "ReviewRequested",
    "Rule",
    "RuleSet",
    "Rules",
    "ServiceItem",
    "ServiceRequest",
    "SlaBreached",
    "SlaPaused",
    "SlaPolicy",
    "SlaResumed",
    "SlaRetargeted",
    "SlaStarted",
    "SlaStatus",
    "SlaStopped",
    "SlaThresholdReached",
    "Store",
    "StoreError",
    "SupplierConnector",
    "SupplierError",
    "SupplierOrder",
    "SupplierOrderCancelRequested",
    "SupplierOrderPlaced",
    "SupplierOrderRequested",
    "SupplierOrderUpdated",
    "SupportGroup",
    "SystemClock",
    "Task",
    "TaskCompleted",
    "TaskFailed",
    "TaskKind",
    "TaskSkipped",
    "TaskStarted",
    "TaskState",
    "TaskTemplate",
    "TransitionError",
    "Urgency",
    "ValidationError",
    "Worker",
    "__version__",
    "get_plugin_manager",
    "hookimpl",
    "lifecycle",
    "open_store",
    "rules",
    "sla",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
