"""A host application in a few lines: a stdlib ``wsgiref`` app that calls the service.

Routes:

- ``POST /requests`` with a JSON body ``{"requester": {...}, "item": "iphone-15",
  "channel": "portal", "answers": {...}}`` (the arguments of ``submit``) creates a
  request and answers ``201`` with the request as JSON;
- ``GET /requests/<id>`` answers ``200`` with the request and what the requester
  may see of it (``FulfillmentService.progress``).

reqfulfill's typed errors map onto HTTP statuses: ``ValidationError`` 400,
``AuthorizationError`` 403, ``NotFoundError`` 404, ``TransitionError`` and
``ConcurrencyError`` 409.

``python examples/wsgi_host.py`` calls the app in-process (no socket) and prints
the answers; ``python examples/wsgi_host.py --serve 8000`` serves it on
127.0.0.1:8000 until interrupted.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

from reqfulfill import (
    AuthorizationError,
    ConcurrencyError,
    FulfillmentService,
    NotFoundError,
    Requester,
    ServiceRequest,
    TransitionError,
    ValidationError,
)
from reqfulfill.testing import demo_catalog

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_STATUS = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
}


def request_json(request: ServiceRequest) -> dict[str, Any]:
    """The fields of a request a client needs, as JSON-ready values."""
    return {
        "id": request.id,
        "state": request.state.value,
        "item": request.item,
        "channel": request.channel.value,
        "group": request.group,
        "agent": request.agent,
        "category": request.category,
        "priority": int(request.priority) if request.priority is not None else None,
        "tasks": [{"key": t.key, "state": t.state.value} for t in request.plan],
        "version": request.version,
    }


def _submit(service: FulfillmentService, body: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requester"), dict):
        raise ValidationError.single("requester", body, "expected a JSON object with a requester")
    try:
        requester = Requester(**body["requester"])
    except TypeError as exc:
        raise ValidationError.single("requester", body["requester"], str(exc)) from None
    request = service.submit(
        requester,
        body.get("item"),
        body.get("channel", "portal"),  # the service turns "portal" into Channel.PORTAL
        body.get("answers") or {},
    )
    return 201, request_json(request)


def _show(service: FulfillmentService, request_id: str) -> tuple[int, dict[str, Any]]:
    progress = service.progress(request_id)
    return 200, {
        "request": request_json(service.get(request_id)),
        "progress": {
            "summary": progress.summary,
            "done": list(progress.done),
            "open": list(progress.open),
            "waiting_on": progress.waiting_on,
            "expected_by": progress.expected_by.isoformat() if progress.expected_by else None,
        },
    }


def make_app(service: FulfillmentService) -> WsgiApp:
    """A WSGI application serving ``service``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        parts = [p for p in environ.get("PATH_INFO", "/").split("/") if p]
        try:
            if parts == ["requests"] and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b""
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    raise ValidationError.single("body", raw[:80], "not JSON") from None
                status, payload = _submit(service, body)
            elif len(parts) == 2 and parts[0] == "requests" and method == "GET":
                status, payload = _show(service, parts[1])
            elif parts[:1] == ["requests"]:
                status, payload = 405, {"error": f"{method} not allowed here"}
            else:
                status, payload = 404, {"error": f"no route {environ.get('PATH_INFO')}"}
        except ValidationError as exc:
            problems = [{"path": p.path, "reason": p.reason} for p in exc.problems]
            status, payload = 400, {"error": str(exc), "problems": problems}
        except AuthorizationError as exc:
            status, payload = 403, {"error": str(exc)}
        except NotFoundError as exc:
            status, payload = 404, {"error": str(exc)}
        except (TransitionError, ConcurrencyError) as exc:
            status, payload = 409, {"error": str(exc)}
        data = json.dumps(payload).encode()
        start_response(
            _STATUS[status],
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    return app


def call(
    app: WsgiApp, method: str, path: str, body: object | None = None
) -> tuple[int, dict[str, Any]]:
    """Call a WSGI app in-process with a minimal environ; return (status, JSON body)."""
    raw = json.dumps(body).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(raw),
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"] = int(status.split()[0])

    payload = b"".join(app(environ, start_response))
    return answer["status"], json.loads(payload)


ERIN = {
    "id": "erin.user",
    "name": "Erin User",
    "department": "Finance",
    "location": "Helsinki HQ",
    "manager": "max.manager",
}


def main(argv: list[str]) -> int:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    app = make_app(service)
    if argv[:1] == ["--serve"]:
        port = int(argv[1]) if len(argv) > 1 else 8000
        with make_server("127.0.0.1", port, app) as server:
            print(f"serving on http://127.0.0.1:{port}/requests (Ctrl-C stops)")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
        return 0
    order = {"requester": ERIN, "item": "iphone-15", "channel": "portal"}
    status, created = call(app, "POST", "/requests", order)
    print("POST /requests ->", status, json.dumps(created))
    status, shown = call(app, "GET", f"/requests/{created['id']}")
    print(f"GET /requests/{created['id']} ->", status, json.dumps(shown))
    status, missing = call(app, "GET", "/requests/REQ-000000000000")
    print("GET /requests/REQ-000000000000 ->", status, json.dumps(missing))
    status, bad = call(app, "POST", "/requests", {"requester": ERIN, "channel": "portal"})
    print("POST /requests without an item ->", status, json.dumps(bad))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
