"""The example plugin package ``examples/acme_connector`` against a local stub of Acme's API:
the connector contract, error mapping, and an order end to end through the service."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    SupplierError,
    TaskState,
    Worker,
)
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.supplier import OrderLine, SupplierOrder
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.contracts import SupplierConnectorContract

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "acme_connector"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))  # the example is a separate package: not installed in CI

import acme_connector  # noqa: E402
from acme_connector import AcmeConnector  # noqa: E402

TOKEN = "test-token"


class AcmeStub:
    """Acme's API in memory: orders by id, deduplicated by Idempotency-Key.

    ``fail`` queues statuses the next calls answer with instead (e.g. 503);
    ``delay`` makes every answer that slow (seconds).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.cancel_keys: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.fail: list[int] = []
        self.delay = 0.0

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((method, path, headers))
            if headers.get("authorization") != f"Bearer {TOKEN}":
                return 401, {"error": "bad token"}
            if self.fail:
                code = self.fail.pop(0)
                return code, {"error": f"simulated {code}"}
            parts = path.strip("/").split("/")
            if method == "POST" and parts == ["v1", "orders"]:
                return self._place(headers, body)
            if len(parts) >= 3 and parts[:2] == ["v1", "orders"]:
                order = self.orders.get(parts[2])
                if order is None:
                    return 404, {"error": f"no order {parts[2]}"}
                if method == "GET" and len(parts) == 3:
                    return 200, order
                if method == "POST" and parts[3:] == ["cancel"]:
                    key = headers.get("idempotency-key")
                    if not key:
                        return 400, {"error": "Idempotency-Key required"}
                    keys = self.cancel_keys.setdefault(order["order_id"], [])
                    if key not in keys:
                        keys.append(key)
                    if order["state"] not in ("delivered", "rejected", "cancelled"):
                        order["state"] = "cancelled"
                    return 200, order
            return 404, {"error": f"no route {method} {path}"}

    def _place(self, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        key = headers.get("idempotency-key")
        if not key:
            return 400, {"error": "Idempotency-Key required"}
        if key in self.by_key:
            return 200, self.orders[self.by_key[key]]
        lines = body.get("lines") if isinstance(body, dict) else None
        if not lines or any(line.get("quantity", 0) > 5 for line in lines):
            return 422, {"error": "at most 5 units per line"}
        order_id = f"AC-{len(self.orders) + 1:04d}"
        self.orders[order_id] = {"order_id": order_id, "state": "received", "body": body}
        self.by_key[key] = order_id
        return 201, self.orders[order_id]

    def set_state(self, order_id: str, state: str) -> None:
        with self.lock:
            self.orders[order_id]["state"] = state


def serve(stub: AcmeStub) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            if stub.delay:
                time.sleep(stub.delay)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            code, reply = stub.handle(self.command, self.path, headers, body)
            data = json.dumps(reply).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


@pytest.fixture
def stub() -> AcmeStub:
    return AcmeStub()


@pytest.fixture
def base_url(stub: AcmeStub) -> Iterator[str]:
    server = serve(stub)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def phone_order(quantity: int = 1) -> SupplierOrder:
    return SupplierOrder(
        "acme-mobile",
        "REQ-1",
        "order",
        (OrderLine("iphone-15", quantity, "Mobile phone"),),
        "Helsinki HQ",
        "erin.user",
        "REQ-1/order",
    )


class TestAcmeConnector(SupplierConnectorContract):
    @pytest.fixture(autouse=True)
    def _the_stub(self, stub: AcmeStub) -> None:
        self.stub = stub  # advance_order moves orders on through the stub

    @pytest.fixture
    def connector(self, base_url: str) -> AcmeConnector:
        return AcmeConnector(base_url, token=TOKEN, timeout=5)

    @pytest.fixture
    def order(self) -> SupplierOrder:
        return phone_order()

    @pytest.fixture
    def refused_order(self) -> SupplierOrder:
        return phone_order(quantity=9)  # Acme sells at most 5 per line: 422

    @pytest.fixture
    def unreachable_connector(self) -> AcmeConnector:
        return AcmeConnector("http://127.0.0.1:9/v1", token=TOKEN, timeout=1)

    def advance_order(self, connector: SupplierConnector, ref: str) -> bool:
        following = {"received": "accepted", "accepted": "dispatched", "dispatched": "delivered"}
        state = following.get(self.stub.orders[ref]["state"])
        if state is None:
            return False
        self.stub.set_state(ref, state)
        return True


# -- error mapping -------------------------------------------------------------------------


@pytest.fixture
def acme(base_url: str) -> AcmeConnector:
    return AcmeConnector(base_url, token=TOKEN, timeout=5)


def test_sends_the_idempotency_key_and_the_order(acme: AcmeConnector, stub: AcmeStub) -> None:
    receipt = acme.place_order(phone_order(2), "REQ-1/9")
    assert receipt.status is OrderStatus.PLACED
    method, path, headers = stub.requests[-1]
    assert (method, path) == ("POST", "/v1/orders")
    assert headers["idempotency-key"] == "REQ-1/9"
    assert stub.orders[receipt.ref]["body"] == {
        "client_reference": "REQ-1/order",
        "ship_to": "Helsinki HQ",
        "requester": "erin.user",
        "lines": [{"sku": "iphone-15", "quantity": 2}],
    }


@pytest.mark.parametrize("code", [500, 502, 503, 429])
def test_server_errors_are_retryable(acme: AcmeConnector, stub: AcmeStub, code: int) -> None:
    stub.fail.append(code)
    with pytest.raises(SupplierError) as info:
        acme.place_order(phone_order(), "k1")
    assert info.value.retryable is True
    assert str(code) in info.value.message
    assert stub.orders == {}


def test_client_errors_are_permanent(acme: AcmeConnector, stub: AcmeStub) -> None:
    with pytest.raises(SupplierError) as info:
        acme.place_order(phone_order(quantity=9), "k1")
    assert info.value.retryable is False
    assert "422" in info.value.message
    assert "at most 5" in info.value.message
    with pytest.raises(SupplierError) as info:
        AcmeConnector(acme.base_url, token="wrong").order_status("AC-0001")
    assert info.value.retryable is False


def test_timeouts_are_retryable(base_url: str, stub: AcmeStub) -> None:
    stub.delay = 0.5
    slow = AcmeConnector(base_url, token=TOKEN, timeout=0.1)
    with pytest.raises(SupplierError) as info:
        slow.place_order(phone_order(), "k1")
    assert info.value.retryable is True


def test_nobody_listening_is_retryable() -> None:
    with pytest.raises(SupplierError) as info:
        AcmeConnector("http://127.0.0.1:9/v1", timeout=1).order_status("AC-1")
    assert info.value.retryable is True


def test_states_map_to_order_statuses(acme: AcmeConnector, stub: AcmeStub) -> None:
    ref = acme.place_order(phone_order(), "k1").ref
    for state, status in acme_connector.STATES.items():
        stub.set_state(ref, state)
        assert acme.order_status(ref) is status
    stub.set_state(ref, "lost-in-the-mail")
    with pytest.raises(SupplierError) as info:
        acme.order_status(ref)
    assert info.value.retryable is True


# -- the plugin ----------------------------------------------------------------------------


def _install_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's entry points as ``pip install ./examples/acme_connector`` declares
    them: a dist-info on ``sys.path`` (the package itself is on it already)."""
    import tomllib

    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    info = tmp_path / "reqfulfill_acme_connector-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: reqfulfill-acme-connector\nVersion: 0.1.0\n"
    )
    points = meta["project"]["entry-points"]["reqfulfill"]
    lines = "".join(f"{name} = {target}\n" for name, target in points.items())
    (info / "entry_points.txt").write_text("[reqfulfill]\n" + lines)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_the_installed_entry_point_serves_the_configured_connector(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base_url: str
) -> None:
    _install_example(tmp_path, monkeypatch)
    monkeypatch.setenv("ACME_API_URL", base_url)
    monkeypatch.setenv("ACME_API_TOKEN", TOKEN)
    service = FulfillmentService(demo_catalog(), store="memory://")
    assert service.plugins.failures == ()
    connector = service.plugins.connector("acme-mobile")
    assert isinstance(connector, AcmeConnector)
    assert (connector.base_url, connector.token) == (base_url, TOKEN)
    assert isinstance(service.plugins.pm.get_plugin("acme"), acme_connector.AcmePlugin)
    Worker(service)  # every supplier of the catalog is served


def test_unconfigured_the_plugin_serves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _install_example(tmp_path, monkeypatch)
    monkeypatch.delenv("ACME_API_URL", raising=False)
    service = FulfillmentService(demo_catalog(), store="memory://")
    assert service.plugins.connectors() == {}
    assert acme_connector.AcmePlugin().reqfulfill_supplier_connectors() == []


def test_pyproject_declares_the_entry_point() -> None:
    import tomllib

    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    assert meta["build-system"]["build-backend"] == "hatchling.build"
    assert meta["project"]["entry-points"]["reqfulfill"] == {"acme": "acme_connector:AcmePlugin"}


def test_an_order_end_to_end(base_url: str, stub: AcmeStub, clock: FixedClock) -> None:
    connector = AcmeConnector(base_url, token=TOKEN, timeout=5)
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[connector], clock=clock,
        load_entrypoints=False,
    )  # fmt: skip
    worker = Worker(service, seed=1)
    erin = demo_requester()
    rid = service.submit(erin, "iphone-15", Channel.PORTAL, {"delivery_address": "Room 4"}).id
    service.approve(rid, "max.manager")
    stub.fail.append(503)  # the first attempt meets an outage
    worker.run_pending()
    assert stub.orders == {}
    clock.advance(minutes=2)
    worker.run_pending()
    (ref,) = stub.orders
    assert service.get(rid).task("order").order_ref == ref
    assert stub.orders[ref]["body"]["ship_to"] == "Room 4"
    keys = [h["idempotency-key"] for m, p, h in stub.requests if (m, p) == ("POST", "/v1/orders")]
    assert len(keys) == 2
    assert len(set(keys)) == 1  # the retry sent the same key
    stub.set_state(ref, "dispatched")
    clock.advance(minutes=15)
    worker.run_pending()
    assert service.get(rid).task("order").order_status is OrderStatus.SHIPPED
    stub.set_state(ref, "delivered")
    clock.advance(minutes=15)
    worker.run_pending()
    request = service.get(rid)
    assert request.task("order").state is TaskState.DONE
    assert request.task("prepare").state is TaskState.IN_PROGRESS


def test_cancelling_the_request_cancels_at_acme(
    base_url: str, stub: AcmeStub, clock: FixedClock
) -> None:
    connector = AcmeConnector(base_url, token=TOKEN, timeout=5)
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[connector], clock=clock,
        load_entrypoints=False,
    )  # fmt: skip
    worker = Worker(service)
    erin = demo_requester()
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, "max.manager")
    worker.run_pending()
    (ref,) = stub.orders
    service.cancel(rid, erin.id, "changed my mind")
    worker.run_pending()
    assert stub.orders[ref]["state"] == "cancelled"
    assert len(stub.cancel_keys[ref]) == 1
    assert service.get(rid).task("order").order_status is OrderStatus.CANCELLED
