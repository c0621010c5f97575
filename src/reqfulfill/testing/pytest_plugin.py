"""pytest fixtures for testing with reqfulfill: a clock, a store, a supplier, a service, a worker.

Installed with the ``testing`` extra and registered under the ``pytest11`` entry
point, so the fixtures are there in any test suite; without the entry point,
load it with ``pytest_plugins = ["reqfulfill.testing.pytest_plugin"]`` in a
``conftest.py``. The plugin only adds fixtures, all named ``rf_*``: it has no
hooks, options or markers, so it changes nothing for tests that do not ask for
one. Loading it (in every pytest session) imports the domain types and the
testing kit only; the service, the stores, the SLA package and the worker are
imported by the first fixture that needs them.

Fixtures (each fresh per test):

- ``rf_clock`` -- a :class:`~reqfulfill.FixedClock` at Monday 2 March 2026, 08:30 UTC;
- ``rf_store_url`` -- the store URL, ``memory://`` unless overridden or parametrized
  indirectly; ``{tmp}`` in it becomes the test's ``tmp_path``;
- ``rf_store`` -- the store opened from ``rf_store_url`` (closed after the test);
- ``rf_catalog`` -- the demo catalog (override to use yours); ``rf_rules``
  (None: item defaults), ``rf_sla_policy`` (:meth:`SlaPolicy.default`),
  ``rf_plugins`` (extra plugin objects, none);
- ``rf_fake_supplier`` -- a :class:`~reqfulfill.testing.FakeSupplier` for the
  catalog's first supplier (``acme-mobile`` in the demo catalog);
- ``rf_service`` -- a :class:`~reqfulfill.FulfillmentService` wiring all of the above
  (entry-point plugins are not loaded, so the test sees only what it asked for);
- ``rf_worker`` -- a :class:`~reqfulfill.Worker` for ``rf_service`` (seeded jitter);
- ``rf_run_subscription`` -- :func:`reqfulfill.testing.feed.run_subscription`: runs a
  :class:`~reqfulfill.Subscription` until it has handled every stored event, and
  fails the test if its handler raised.

Example::

    import pytest

    @pytest.mark.parametrize(
        "rf_store_url", ["memory://", "sqlite:///{tmp}/rf.db"], indirect=True
    )
    def test_phone_order(rf_service, rf_worker, rf_fake_supplier):
        from reqfulfill.testing import demo_requester
        request = rf_service.submit(demo_requester(), "iphone-15", "portal")
        rf_service.approve(request.id, "max.manager")
        rf_worker.run_pending()
        assert rf_fake_supplier.order_for(request.id).ref
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from reqfulfill.clock import FixedClock
from reqfulfill.model.catalog import Catalog
from reqfulfill.testing import FakeSupplier, demo_catalog

if TYPE_CHECKING:
    from reqfulfill.rules import Rules
    from reqfulfill.service import FulfillmentService
    from reqfulfill.sla import SlaPolicy
    from reqfulfill.stores import Store
    from reqfulfill.subscriptions import Subscription
    from reqfulfill.worker import Worker

__all__ = [
    "rf_catalog",
    "rf_clock",
    "rf_fake_supplier",
    "rf_plugins",
    "rf_rules",
    "rf_run_subscription",
    "rf_service",
    "rf_sla_policy",
    "rf_store",
    "rf_store_url",
    "rf_worker",
]

DEFAULT_STORE_URL = "memory://"


@pytest.fixture
def rf_clock() -> FixedClock:
    """A clock that moves only when told: Monday 2 March 2026, 08:30 UTC."""
    return FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))


@pytest.fixture
def rf_store_url(request: pytest.FixtureRequest) -> str:
    """The store URL: ``memory://``, or the indirect parameter; ``{tmp}`` is ``tmp_path``."""
    url = getattr(request, "param", DEFAULT_STORE_URL)
    if not isinstance(url, str):
        raise TypeError(f"rf_store_url must be a store URL string, got {url!r}")
    if "{tmp}" in url:
        tmp_path = request.getfixturevalue("tmp_path")
        url = url.replace("{tmp}", str(tmp_path))
    return url


@pytest.fixture
def rf_store(rf_store_url: str) -> Iterator[Store]:
    """The store ``rf_store_url`` names, opened through the storage plugins; closed after."""
    # the plugin machinery, the service, the SLA package and the worker are imported on
    # first use, not when pytest loads this plugin in every session (tens of milliseconds)
    from reqfulfill.plugins import open_store

    store = open_store(rf_store_url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def rf_catalog() -> Catalog:
    """The catalog of the service: the demo catalog unless a test suite overrides it."""
    return demo_catalog()


@pytest.fixture
def rf_rules() -> Rules | None:
    """Routing rules for the service (None: the item defaults and the ITIL matrix)."""
    return None


@pytest.fixture
def rf_sla_policy() -> SlaPolicy | None:
    """The SLA policy of the service (default targets, Helsinki office hours)."""
    from reqfulfill.sla import SlaPolicy

    return SlaPolicy.default()


@pytest.fixture
def rf_plugins() -> Sequence[object]:
    """Extra plugin objects for the service (directory, notifier, automations...)."""
    return ()


@pytest.fixture
def rf_fake_supplier(rf_catalog: Catalog) -> FakeSupplier:
    """A fake supplier for the catalog's first supplier (``acme-mobile`` in the demo)."""
    suppliers = sorted(
        {i.supplier for i in rf_catalog.items if i.supplier}
        | {t.supplier for p in rf_catalog.plans for t in p.tasks if t.supplier}
    )
    return FakeSupplier(suppliers[0] if suppliers else "acme-mobile")


@pytest.fixture
def rf_service(
    rf_catalog: Catalog,
    rf_rules: Rules | None,
    rf_sla_policy: SlaPolicy | None,
    rf_store: Store,
    rf_fake_supplier: FakeSupplier,
    rf_plugins: Sequence[object],
    rf_clock: FixedClock,
) -> FulfillmentService:
    """A service on ``rf_store`` with the fake supplier, the clock and ``rf_plugins``."""
    from reqfulfill.service import FulfillmentService

    return FulfillmentService(
        rf_catalog,
        rules=rf_rules,
        sla=rf_sla_policy,
        store=rf_store,
        plugins=[rf_fake_supplier, *rf_plugins],
        clock=rf_clock,
        load_entrypoints=False,
    )


@pytest.fixture
def rf_worker(rf_service: FulfillmentService) -> Worker:
    """The worker of ``rf_service``, with seeded retry jitter."""
    from reqfulfill.worker import Worker

    return Worker(rf_service, seed=0)


@pytest.fixture
def rf_run_subscription() -> Callable[[Subscription], int]:
    """Run a subscription to completion: every event stored now handled, how many
    returned; the test fails if its handler raised or another process holds it."""
    from reqfulfill.testing.feed import run_subscription

    return run_subscription
