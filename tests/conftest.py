"""Shared test configuration: hypothesis profiles and common fixtures."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

from reqfulfill import FixedClock, FulfillmentService, Worker  # noqa: E402
from reqfulfill.sla import SlaPolicy  # noqa: E402
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester  # noqa: E402


@pytest.fixture
def clock() -> FixedClock:
    """Monday 2 March 2026, 08:30 UTC (10:30 in Helsinki)."""
    return FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))


@pytest.fixture
def supplier() -> FakeSupplier:
    return FakeSupplier("acme-mobile")


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path}/rf.db"


@pytest.fixture
def service(clock: FixedClock, supplier: FakeSupplier) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        sla=SlaPolicy.default(),
        store="memory://",
        plugins=[supplier],
        clock=clock,
        load_entrypoints=False,
    )


@pytest.fixture
def worker(service: FulfillmentService) -> Worker:
    return Worker(service, seed=7)


@pytest.fixture
def erin():  # type: ignore[no-untyped-def]
    return demo_requester()
