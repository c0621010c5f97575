"""The rf_* fixtures for the security tests (until the pytest11 entry point is installed,
importing them here is how a non-root conftest gets a plugin's fixtures)."""

from __future__ import annotations

from reqfulfill.testing.pytest_plugin import (  # noqa: F401
    rf_catalog,
    rf_clock,
    rf_fake_supplier,
    rf_plugins,
    rf_rules,
    rf_service,
    rf_sla_policy,
    rf_store,
    rf_store_url,
    rf_worker,
)
