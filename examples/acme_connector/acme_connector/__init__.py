"""A reqfulfill supplier connector for the (made-up) Acme Mobile Supply HTTP JSON API.

The API, as Acme documents it:

- ``POST {base}/orders`` with an ``Idempotency-Key`` header and the body
  ``{"client_reference", "ship_to", "requester", "lines": [{"sku", "quantity"}]}``
  answers ``201 {"order_id", "state"}``; the same key again answers the first
  order (``200``), never a second one.
- ``GET {base}/orders/{order_id}`` answers ``200 {"order_id", "state"}``.
- ``POST {base}/orders/{order_id}/cancel`` with an ``Idempotency-Key`` answers
  ``200 {"order_id", "state"}`` (``delivered`` when it is too late).
- ``state`` is one of received, accepted, dispatched, delivered, rejected, cancelled.
- Errors are ``{"error": "..."}`` with a 4xx (our fault: permanent) or 5xx
  status (theirs: try again later).

Only the standard library is used. Install the package and set
``ACME_API_URL`` (and ``ACME_API_TOKEN``): reqfulfill loads :class:`AcmePlugin`
from the ``reqfulfill`` entry-point group. Or register a connector yourself:
``FulfillmentService(catalog, plugins=[AcmeConnector(url, token=...)])``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from reqfulfill import NotFoundError, OrderReceipt, OrderStatus, SupplierError, hookimpl
from reqfulfill.model.supplier import SupplierOrder

__all__ = ["STATES", "AcmeConnector", "AcmePlugin"]

STATES: Mapping[str, OrderStatus] = {
    "received": OrderStatus.PLACED,
    "accepted": OrderStatus.CONFIRMED,
    "dispatched": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "rejected": OrderStatus.FAILED,
    "cancelled": OrderStatus.CANCELLED,
}
"""Acme's order states, as reqfulfill's ``OrderStatus``."""

_RETRYABLE_4XX = frozenset({408, 425, 429})
"""Client errors that are about timing, not about the request: worth another try."""


class AcmeConnector:
    """Talks to Acme's API. A connector and a plugin in one (its hook returns ``[self]``).

    :param base_url: the API root, e.g. ``https://sandbox.acme.example/v1``.
    :param token: the API token, sent as ``Authorization: Bearer``.
    :param supplier_id: the supplier's id in the catalog.
    :param timeout: seconds before a call counts as timed out (retryable).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        supplier_id: str = "acme-mobile",
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.supplier_id = supplier_id
        self.timeout = timeout

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> Sequence[AcmeConnector]:
        """This connector, when registered as a plugin object."""
        return [self]

    # -- the connector protocol --------------------------------------------------------

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        """``POST /orders``: Acme deduplicates by our idempotency key."""
        body = {
            "client_reference": order.reference,
            "ship_to": order.deliver_to,
            "requester": order.requester,
            "lines": [{"sku": line.item, "quantity": line.quantity} for line in order.lines],
        }
        reply = self._call("POST", "/orders", body, idempotency_key=idempotency_key)
        return OrderReceipt(self._ref(reply), self._status(reply))

    def order_status(self, ref: str) -> OrderStatus:
        """``GET /orders/{ref}``; ``NotFoundError`` when Acme has no such order."""
        return self._status(self._call("GET", f"/orders/{_quote(ref)}", order=ref))

    def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
        """``POST /orders/{ref}/cancel``; ``NotFoundError`` when Acme has no such order."""
        reply = self._call(
            "POST",
            f"/orders/{_quote(ref)}/cancel",
            {},
            idempotency_key=idempotency_key,
            order=ref,
        )
        return self._status(reply)

    # -- HTTP ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        order: str | None = None,
    ) -> Mapping[str, Any]:
        """Call Acme; every failure is a ``SupplierError`` saying whether to retry, and a
        404 about ``order`` (a ref we sent) is a ``NotFoundError``."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        where = f"acme: {method} {path}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:  # an answer, with a 4xx or 5xx status
            detail = _error_text(exc)
            if exc.code == 404 and order is not None:
                raise NotFoundError("acme order", order, f"{where}: 404 {detail}") from exc
            retryable = exc.code >= 500 or exc.code in _RETRYABLE_4XX
            raise SupplierError(f"{where}: {exc.code} {detail}", retryable=retryable) from exc
        except (TimeoutError, urllib.error.URLError, OSError) as exc:  # no answer at all
            reason = getattr(exc, "reason", exc)
            raise SupplierError(f"{where}: {reason}", retryable=True) from exc
        try:
            reply = json.loads(raw)
        except ValueError as exc:
            raise SupplierError(f"{where}: the reply is not JSON", retryable=True) from exc
        if not isinstance(reply, dict):
            raise SupplierError(f"{where}: the reply is not a JSON object", retryable=True)
        return reply

    def _ref(self, reply: Mapping[str, Any]) -> str:
        ref = reply.get("order_id")
        if not isinstance(ref, str) or not ref:
            raise SupplierError(f"acme: no order_id in {dict(reply)!r}", retryable=True)
        return ref

    def _status(self, reply: Mapping[str, Any]) -> OrderStatus:
        state = reply.get("state")
        try:
            return STATES[state]  # type: ignore[index]
        except (KeyError, TypeError):
            raise SupplierError(f"acme: unknown order state {state!r}", retryable=True) from None

    def __repr__(self) -> str:
        return f"AcmeConnector({self.base_url!r}, supplier_id={self.supplier_id!r})"


def _quote(ref: str) -> str:
    return urllib.parse.quote(ref, safe="")


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read() or b"{}")
    except ValueError:
        return exc.reason if isinstance(exc.reason, str) else ""
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return str(payload["error"])
    return str(exc.reason)


# -- the entry-point plugin -------------------------------------------------------------


class AcmePlugin:
    """The plugin the entry point names (``acme = "acme_connector:AcmePlugin"``).

    reqfulfill instantiates it with no arguments when it loads the entry point; it
    reads ``ACME_API_URL``, ``ACME_API_TOKEN`` and ``ACME_SUPPLIER_ID`` then. Without
    ``ACME_API_URL`` it serves no supplier: an installed but unconfigured plugin
    changes nothing.
    """

    def __init__(self) -> None:
        url = os.environ.get("ACME_API_URL")
        self.connector = (
            AcmeConnector(
                url,
                token=os.environ.get("ACME_API_TOKEN", ""),
                supplier_id=os.environ.get("ACME_SUPPLIER_ID", "acme-mobile"),
            )
            if url
            else None
        )

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> Sequence[AcmeConnector]:
        """The configured connector (none without ``ACME_API_URL``)."""
        return [] if self.connector is None else [self.connector]
