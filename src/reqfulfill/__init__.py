"""reqfulfill: the fulfillment logic of IT service request management.

The public API is :class:`FulfillmentService` (commands and queries on service
requests), :class:`Worker` (runs supplier orders, notifications, automations
and SLA timers), the domain types and errors re-exported here, and the
submodules :mod:`~reqfulfill.lifecycle`, :mod:`~reqfulfill.rules` and
:mod:`~reqfulfill.sla`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from reqfulfill import lifecycle, rules, sla
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
    SupplierError,
    TransitionError,
    ValidationError,
)
from reqfulfill.model.events import (
    ApprovalRequested,
    AutomationRequested,
    DeliveryDisputed,
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
from reqfulfill.rules import Rules
from reqfulfill.service import FulfillmentService, Progress
from reqfulfill.stores import Store
from reqfulfill.worker import Worker

try:
    __version__ = version("reqfulfill")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Approval",
    "ApprovalRequested",
    "Assignment",
    "AuthorizationError",
    "AutomationError",
    "AutomationRequested",
    "Catalog",
    "Channel",
    "Clock",
    "ConcurrencyError",
    "DeliveryDisputed",
    "Event",
    "Feedback",
    "FeedbackRecorded",
    "FixedClock",
    "FulfillmentService",
    "Impact",
    "ItemDelivered",
    "ItemShipped",
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
    "Rules",
    "ServiceItem",
    "ServiceRequest",
    "SlaBreached",
    "SlaPaused",
    "SlaResumed",
    "SlaRetargeted",
    "SlaStarted",
    "SlaStatus",
    "SlaStopped",
    "SlaThresholdReached",
    "Store",
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
