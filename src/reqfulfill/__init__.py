"""reqfulfill: the fulfillment logic of IT service request management.

The public API is :class:`FulfillmentService` (commands and queries on service
requests), :class:`Worker` (runs supplier orders, notifications, automations
and SLA timers), the domain types and errors re-exported here, and the
submodules :mod:`~reqfulfill.lifecycle`, :mod:`~reqfulfill.rules` and
:mod:`~reqfulfill.sla`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reqfulfill._data_forms import DeferredDataForms
from reqfulfill._hooks import hookimpl
from reqfulfill.clock import Clock, FixedClock, SystemClock
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.approval import (
    ApprovalMode,
    ApprovalPolicy,
    ApprovalStage,
    Approvers,
    IfNoApprover,
    OnExpiry,
    StageState,
    StageStatus,
)
from reqfulfill.model.catalog import (
    Catalog,
    PlanTemplate,
    Requester,
    ServiceItem,
    SupportGroup,
    TaskTemplate,
    use_data_forms,
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
    InventoryError,
    NotFoundError,
    PluginError,
    Problem,
    ReqfulfillError,
    StoreError,
    SupplierError,
    TransitionError,
    ValidationError,
)
from reqfulfill.model.events import (
    ApprovalDelegated,
    ApprovalExpired,
    ApprovalGiven,
    ApprovalReminded,
    ApprovalRequested,
    ApprovalStageCompleted,
    ApprovalStageSkipped,
    ApprovalStageStarted,
    AssetHandedOver,
    AssetRegistered,
    AssetShipped,
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
    StockReleased,
    StockReleaseRequested,
    StockReservationRequested,
    StockReserved,
    StockUnavailable,
    SupplierOrderCancelRequested,
    SupplierOrderPlaced,
    SupplierOrderRequested,
    SupplierOrderUpdated,
    TaskCompleted,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
)
from reqfulfill.model.inventory import Asset, StockReservation
from reqfulfill.model.request import (
    Approval,
    Assignment,
    Feedback,
    ServiceRequest,
    SlaStatus,
    Task,
)
from reqfulfill.model.supplier import Notification, OrderLine, OrderReceipt, SupplierOrder

# The catalog's data forms (``Catalog.from_dict`` / ``from_toml`` / ``to_dict``) live
# with the configuration loaders, loaded on first use (see ``reqfulfill._data_forms``).
use_data_forms(DeferredDataForms())

if TYPE_CHECKING:
    from types import ModuleType

    from reqfulfill import lifecycle, rules, sla
    from reqfulfill.feedback import FeedbackPolicy
    from reqfulfill.metrics import MetricsRow
    from reqfulfill.paging import Page
    from reqfulfill.plugins import get_plugin_manager, open_store
    from reqfulfill.rules import Decision, PriorityMatrix, Rule, Rules, RuleSet
    from reqfulfill.rules.analysis import Finding
    from reqfulfill.service import FulfillmentService, Progress
    from reqfulfill.sla import BusinessCalendar, BusinessDays, EscalationLevel, SlaPolicy
    from reqfulfill.stores import Store, StoredEvent
    from reqfulfill.subscriptions import Subscription
    from reqfulfill.worker import Worker

# Loaded on first use (PEP 562), so that ``import reqfulfill`` costs the domain types
# only: the decider, the service, the stores, the plugin machinery, the rules and SLA
# packages and the worker come with the first name that needs them, and
# ``__version__`` with its first read (importlib.metadata is slow to import).
_LAZY = {
    "FulfillmentService": "reqfulfill.service",
    "Progress": "reqfulfill.service",
    "get_plugin_manager": "reqfulfill.plugins",
    "open_store": "reqfulfill.plugins",
    "Store": "reqfulfill.stores",
    "StoredEvent": "reqfulfill.stores",
    "Subscription": "reqfulfill.subscriptions",
    "Worker": "reqfulfill.worker",
    "Rules": "reqfulfill.rules",
    "Rule": "reqfulfill.rules",
    "RuleSet": "reqfulfill.rules",
    "Decision": "reqfulfill.rules",
    "PriorityMatrix": "reqfulfill.rules",
    "Finding": "reqfulfill.rules.analysis",
    "BusinessCalendar": "reqfulfill.sla",
    "BusinessDays": "reqfulfill.sla",
    "SlaPolicy": "reqfulfill.sla",
    "EscalationLevel": "reqfulfill.sla",
    "FeedbackPolicy": "reqfulfill.feedback",
    "MetricsRow": "reqfulfill.metrics",
    "Page": "reqfulfill.paging",
}
"""Public name -> the module that defines it, for the names loaded on first use."""

_SUBMODULES = frozenset(
    {
        "feedback",
        "hookspecs",
        "lifecycle",
        "metrics",
        "plugins",
        "rules",
        "serialization",
        "service",
        "sla",
        "stores",
    }
)
"""Submodules read as attributes of the package (``reqfulfill.lifecycle.decide``)."""

__version__: str


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(_import(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = _import(f"{__name__}.{name}")
    elif name == "__version__":
        value = _version()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _import(module: str) -> ModuleType:
    """The lazily loaded ``module``, by a plain import statement per module.

    (``src`` never imports a module by a computed name, and ``from reqfulfill
    import ...`` here would call ``__getattr__`` again.)
    """
    match module:
        case "reqfulfill.feedback":
            import reqfulfill.feedback

            return reqfulfill.feedback
        case "reqfulfill.hookspecs":
            import reqfulfill.hookspecs

            return reqfulfill.hookspecs
        case "reqfulfill.lifecycle":
            import reqfulfill.lifecycle

            return reqfulfill.lifecycle
        case "reqfulfill.metrics":
            import reqfulfill.metrics

            return reqfulfill.metrics
        case "reqfulfill.plugins":
            import reqfulfill.plugins

            return reqfulfill.plugins
        case "reqfulfill.rules":
            import reqfulfill.rules

            return reqfulfill.rules
        case "reqfulfill.rules.analysis":
            import reqfulfill.rules.analysis

            return reqfulfill.rules.analysis
        case "reqfulfill.serialization":
            import reqfulfill.serialization

            return reqfulfill.serialization
        case "reqfulfill.service":
            import reqfulfill.service

            return reqfulfill.service
        case "reqfulfill.paging":
            import reqfulfill.paging

            return reqfulfill.paging
        case "reqfulfill.sla":
            import reqfulfill.sla

            return reqfulfill.sla
        case "reqfulfill.stores":
            import reqfulfill.stores

            return reqfulfill.stores
        case "reqfulfill.subscriptions":
            import reqfulfill.subscriptions

            return reqfulfill.subscriptions
        case "reqfulfill.worker":
            import reqfulfill.worker

            return reqfulfill.worker
    raise AssertionError(f"{module} is not a lazily loaded module")  # pragma: no cover


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reqfulfill")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


__all__ = [
    "Approval",
    "ApprovalDelegated",
    "ApprovalExpired",
    "ApprovalGiven",
    "ApprovalMode",
    "ApprovalPolicy",
    "ApprovalReminded",
    "ApprovalRequested",
    "ApprovalStage",
    "ApprovalStageCompleted",
    "ApprovalStageSkipped",
    "ApprovalStageStarted",
    "Approvers",
    "Asset",
    "AssetHandedOver",
    "AssetRegistered",
    "AssetShipped",
    "Assignment",
    "AuthorizationError",
    "AutomationError",
    "AutomationRequested",
    "BusinessCalendar",
    "BusinessDays",
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
    "IfNoApprover",
    "Impact",
    "InventoryError",
    "ItemDelivered",
    "ItemShipped",
    "MetricsRow",
    "NotFoundError",
    "Notification",
    "NotificationRequested",
    "NotificationSent",
    "OnExpiry",
    "OrderLine",
    "OrderReceipt",
    "OrderStatus",
    "Page",
    "PlanStarted",
    "PlanTemplate",
    "PlannedTask",
    "PluginError",
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
    "StageState",
    "StageStatus",
    "StockReleaseRequested",
    "StockReleased",
    "StockReservation",
    "StockReservationRequested",
    "StockReserved",
    "StockUnavailable",
    "Store",
    "StoreError",
    "StoredEvent",
    "Subscription",
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
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
