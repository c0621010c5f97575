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
from reqfulfill.model.events import *  # noqa: F403 - one name per event class
from reqfulfill.model.events import __all__ as _event_names
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

__all__ = sorted(
    [
        "Approval",
        "Assignment",
        "AuthorizationError",
        "AutomationError",
        "Catalog",
        "Channel",
        "Clock",
        "ConcurrencyError",
        "Feedback",
        "FixedClock",
        "FulfillmentService",
        "Impact",
        "NotFoundError",
        "Notification",
        "OrderLine",
        "OrderReceipt",
        "OrderStatus",
        "PlanTemplate",
        "Priority",
        "Problem",
        "Progress",
        "ReqfulfillError",
        "RequestState",
        "Requester",
        "Rules",
        "ServiceItem",
        "ServiceRequest",
        "SlaStatus",
        "Store",
        "SupplierConnector",
        "SupplierError",
        "SupplierOrder",
        "SupportGroup",
        "SystemClock",
        "Task",
        "TaskKind",
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
        *[n for n in _event_names if n != "EVENT_TYPES"],
    ]
)
