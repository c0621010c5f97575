"""The pytest plugin (``reqfulfill.testing.pytest_plugin``), run in pytester sessions."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "reqfulfill.testing.pytest_plugin"


def _conftest(pytester: pytest.Pytester) -> None:
    """Nothing to do: the ``pytest11`` entry point loads the plugin in every session;
    a test file gets the ``rf_*`` fixtures just by naming them."""
    del pytester


def test_fixtures_wire_a_working_service(pytester: pytest.Pytester) -> None:
    _conftest(pytester)
    pytester.makepyfile(
        """
        from reqfulfill import FixedClock, FulfillmentService, Worker
        from reqfulfill.model.enums import OrderStatus, RequestState
        from reqfulfill.stores import MemoryStore
        from reqfulfill.testing import FakeSupplier, demo_requester

        def test_types(rf_clock, rf_store, rf_fake_supplier, rf_service, rf_worker):
            assert isinstance(rf_clock, FixedClock)
            assert isinstance(rf_store, MemoryStore)
            assert rf_fake_supplier.supplier_id == "acme-mobile"
            assert rf_service.store is rf_store and rf_service.clock is rf_clock
            assert rf_worker.service is rf_service

        def test_phone_is_ordered(rf_service, rf_worker, rf_fake_supplier, rf_clock):
            request = rf_service.submit(demo_requester(), "iphone-15", "portal")
            rf_service.approve(request.id, "max.manager")
            rf_worker.run_pending()
            order = rf_fake_supplier.order_for(request.id)
            rf_fake_supplier.advance(order.ref, OrderStatus.DELIVERED)
            rf_clock.advance(minutes=16)
            rf_worker.run_pending()
            assert rf_service.get(request.id).task("order").state.value == "done"

        def test_each_test_gets_a_fresh_store(rf_service):
            assert list(rf_service.queue()) == []
            rf_service.submit(demo_requester(), "password-reset", "portal")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_store_url_is_parametrizable_indirectly(pytester: pytest.Pytester) -> None:
    _conftest(pytester)
    pytester.makepyfile(
        """
        import pytest
        from reqfulfill.testing import demo_requester

        @pytest.mark.parametrize(
            "rf_store_url", ["memory://", "sqlite:///{tmp}/rf.db"], indirect=True
        )
        def test_round_trip(rf_store_url, rf_store, rf_service, tmp_path):
            kind = type(rf_store).__name__
            assert kind == ("SQLiteStore" if rf_store_url.startswith("sqlite") else "MemoryStore")
            if rf_store_url.startswith("sqlite"):
                assert str(tmp_path) in rf_store_url and "{tmp}" not in rf_store_url
                assert (tmp_path / "rf.db").exists()
            request = rf_service.submit(demo_requester(), "password-reset", "portal")
            assert rf_service.get(request.id) == request
        """
    )
    result = pytester.runpytest("-v", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_round_trip?memory*PASSED*", "*test_round_trip?sqlite*"])


def test_overriding_fixtures_changes_the_service(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from reqfulfill import Catalog

        @pytest.fixture
        def rf_store_url(tmp_path):
            return f"sqlite:///{tmp_path}/mine.db"

        @pytest.fixture
        def rf_catalog():
            return Catalog.from_dict({
                "groups": [{"id": "desk", "name": "Desk", "members": ["ann"]}],
                "plans": [{"id": "p", "tasks": [
                    {"key": "buy", "kind": "supplier_order", "title": "Buy"}]}],
                "items": [{"id": "mouse", "name": "Mouse", "category": "HW", "group": "desk",
                           "impact": "low", "urgency": "low", "plan": "p",
                           "supplier": "mice-r-us", "requires_approval": False}],
            })

        @pytest.fixture
        def rf_sla_policy():
            return None
        """
    )
    pytester.makepyfile(
        """
        from reqfulfill.testing import demo_requester

        def test_mine(rf_service, rf_fake_supplier, rf_worker, rf_store):
            assert type(rf_store).__name__ == "SQLiteStore"
            assert rf_fake_supplier.supplier_id == "mice-r-us"
            assert rf_service.sla is None
            request = rf_service.submit(demo_requester(), "mouse", "portal")
            rf_worker.run_pending()
            assert rf_fake_supplier.order_for(request.id).idempotency_key
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_plugin_adds_only_fixtures(pytester: pytest.Pytester) -> None:
    """Opt-in friendly: loading the plugin changes nothing for a test that uses no rf_ fixture."""
    import reqfulfill.testing.pytest_plugin as plugin

    hooks = [name for name in vars(plugin) if name.startswith("pytest_")]
    assert hooks == []
    assert all(name.startswith("rf_") for name in plugin.__all__)
    _conftest(pytester)
    pytester.makepyfile(
        """
        import sys

        def test_plain():
            assert 1 + 1 == 2

        def test_nothing_heavy_imported():
            # the machine (hypothesis' stateful module) is not loaded behind the user's back
            assert "reqfulfill.testing.machine" not in sys.modules
            assert "hypothesis.stateful" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:randomly")
    listed = result.stdout.str()
    for name in plugin.__all__:
        assert f"{name} -- " in listed, name


def test_bad_store_url_parameter_is_reported(pytester: pytest.Pytester) -> None:
    _conftest(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("rf_store_url", [42], indirect=True)
        def test_bad(rf_store):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*rf_store_url must be a store URL string*"])


def test_third_party_example_suite_passes() -> None:
    """examples/third_party_tests uses only the public kit, and passes."""
    import subprocess
    import sys
    from pathlib import Path

    suite = Path(__file__).parents[2] / "examples" / "third_party_tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        capture_output=True,
        text=True,
        check=False,
        cwd=suite,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "failed" not in result.stdout
    assert "skipped" not in result.stdout


def test_testing_page_python_blocks_run() -> None:
    """docs/testing.md: every ``python`` block runs (``py`` blocks are excerpts)."""
    import re
    from pathlib import Path

    page = Path(__file__).parents[2] / "docs" / "testing.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {"__name__": "docs.testing"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
