"""Every example in ``examples/`` runs, and the example catalog is the demo catalog."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reqfulfill import Catalog, Channel, FulfillmentService
from reqfulfill.testing import DEMO_CATALOG, demo_catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED_OUTPUT = {
    "reference_scenario.py": ["RequestSubmitted", "SupplierOrderPlaced", "Final state: closed"],
    "wsgi_host.py": ["POST /requests -> 201", "-> 200", "-> 404", "-> 400"],
}


def test_every_example_script_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED_OUTPUT)


@pytest.mark.parametrize("script", sorted(EXPECTED_OUTPUT))
def test_example_runs(script: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "REQFULFILL_STORE": "memory://"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for expected in EXPECTED_OUTPUT[script]:
        assert expected in done.stdout


def test_catalog_toml_is_the_demo_catalog() -> None:
    catalog = Catalog.from_toml(EXAMPLES / "catalog.toml")
    assert catalog == demo_catalog()
    assert Catalog.from_dict(catalog.to_dict()) == Catalog.from_dict(DEMO_CATALOG)


@pytest.fixture
def wsgi() -> dict[str, Any]:
    return runpy.run_path(str(EXAMPLES / "wsgi_host.py"))


def test_wsgi_host_submits_and_shows_a_request(wsgi: dict[str, Any]) -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    app = wsgi["make_app"](service)
    call = wsgi["call"]
    order = {"requester": wsgi["ERIN"], "item": "iphone-15", "channel": "portal"}

    status, created = call(app, "POST", "/requests", order)
    assert status == 201
    assert created["state"] == "awaiting_approval"
    assert service.get(created["id"]).item == "iphone-15"

    status, shown = call(app, "GET", f"/requests/{created['id']}")
    assert status == 200
    assert shown["request"]["id"] == created["id"]
    assert shown["progress"]["waiting_on"] == "approval by max.manager"


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/requests/REQ-000000000000", None, 404),
        ("POST", "/requests", {"requester": {"id": "x"}, "item": "iphone-15"}, 400),
        ("POST", "/requests", "not an object", 400),
        ("DELETE", "/requests/REQ-1", None, 405),
        ("GET", "/elsewhere", None, 404),
    ],
)
def test_wsgi_host_maps_errors_to_statuses(
    wsgi: dict[str, Any], method: str, path: str, body: object, expected: int
) -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    status, payload = wsgi["call"](wsgi["make_app"](service), method, path, body)
    assert status == expected
    assert "error" in payload


def test_wsgi_host_reports_every_submit_problem(wsgi: dict[str, Any]) -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    order = {"requester": wsgi["ERIN"], "channel": "portal"}
    status, payload = wsgi["call"](wsgi["make_app"](service), "POST", "/requests", order)
    assert status == 400
    assert payload["problems"] == [
        {"path": "item", "reason": "a portal request must name a catalog item"}
    ]


def test_the_intake_catalog_is_the_demo_catalog_and_more() -> None:
    intake = Catalog.from_toml(EXAMPLES / "intake" / "catalog.toml")
    demo = demo_catalog()
    assert all(intake.item(item.id) == item for item in demo.items)
    assert len(intake.items) == 16
    assert intake.intake.threshold(Channel.EMAIL) == 0.85
