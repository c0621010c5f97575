"""The contract kits run against the backends and the fake supplier reqfulfill ships."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reqfulfill.model.supplier import OrderLine, SupplierOrder
from reqfulfill.stores import MemoryStore, SQLiteStore, Store
from reqfulfill.testing import FakeSupplier
from reqfulfill.testing.contracts import StoreContract, SupplierConnectorContract
from reqfulfill.testing.store_contract import protocol_methods


class TestMemoryStore(StoreContract):
    supports_multiprocess = False

    @pytest.fixture
    def store_url(self) -> str:
        return "memory://"


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/store.db"


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store_url(self, pg_url: str) -> str:
        return pg_url


class TestFakeSupplier(SupplierConnectorContract):
    @pytest.fixture
    def connector(self) -> FakeSupplier:
        return FakeSupplier("acme-mobile")

    @pytest.fixture
    def order(self) -> SupplierOrder:
        return SupplierOrder(
            supplier_id="acme-mobile",
            request_id="REQ-1",
            task_key="order",
            lines=(OrderLine("iphone-15"),),
            deliver_to="Helsinki HQ",
            requester="erin.user",
            reference="REQ-1/order",
        )


def test_missing_store_url_fixture_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "test_forgot.py").write_text(
        "from reqfulfill.testing.contracts import StoreContract\n\n\n"
        "class TestForgot(StoreContract):\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "load_of_unknown"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "define a store_url fixture" in result.stdout
    assert "1 error" in result.stdout


def test_testing_package_imports_without_pytest_or_hypothesis() -> None:
    code = (
        "import sys, reqfulfill.testing\n"
        "bad = sorted(m for m in ('pytest', 'hypothesis', '_pytest') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_contract_exercises_every_protocol_method() -> None:
    # the contract's own checks and those of the mixins it is made of
    source = "".join(
        inspect.getsource(kit)
        for kit in StoreContract.__mro__
        if kit.__module__.startswith("reqfulfill.testing.")
    )
    unchecked = [m for m in protocol_methods() if not re.search(rf"\.{m}\b", source)]
    assert unchecked == [], f"StoreContract never calls Store.{unchecked}"


def test_the_protocol_declares_what_the_built_in_stores_offer_the_service() -> None:
    # the service and the worker call only protocol methods; the stores' other public
    # methods are for tests and operations (MemoryStore.outbox, SQLiteStore.upgrade...)
    assert {"load_after", "append_and_complete"} <= set(protocol_methods())
    for cls in (MemoryStore, SQLiteStore):
        for name in protocol_methods():
            assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name}"
    assert isinstance(MemoryStore(), Store)
