"""The naive connector of ``docs/connectors.md`` fails exactly the checks the page says
it fails, with the messages it shows; run in a pytester session, as a connector author
would run the kit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

FAILING = {
    "test_an_unknown_ref_is_not_found",
    "test_a_refused_order_is_a_permanent_supplier_error",
    "test_an_unreachable_supplier_is_a_retryable_supplier_error",
    "test_a_status_never_moves_backwards",
}

TEST_FILE = """
import pytest

from reqfulfill.model.supplier import OrderLine, SupplierOrder
from reqfulfill.testing.contracts import SupplierConnectorContract
from naive_connector import NaiveConnector, SupplierApi

STEPS = {"placed": "confirmed", "confirmed": "shipped", "shipped": "delivered"}


def phone_order(quantity=1):
    return SupplierOrder("acme-mobile", "REQ-1", "order", (OrderLine("iphone-15", quantity),),
                         "Helsinki", "erin.user", "REQ-1/order")


class TestNaiveConnector(SupplierConnectorContract):
    @pytest.fixture
    def connector(self):
        return NaiveConnector(SupplierApi())

    @pytest.fixture
    def order(self):
        return phone_order()

    @pytest.fixture
    def refused_order(self):
        return phone_order(9)

    @pytest.fixture
    def unreachable_connector(self):
        return NaiveConnector(SupplierApi(down=True))

    def advance_order(self, connector, ref):
        following = STEPS.get(connector.api.states[ref])
        if following is None:
            return False
        connector.api.states[ref] = following
        return True
"""


def _naive_source() -> str:
    (source,) = [block for block in BLOCK.findall(PAGE.read_text()) if "NaiveConnector" in block]
    return source


def test_the_naive_connector_fails_the_checks_the_page_lists(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(naive_connector=_naive_source(), test_naive=TEST_FILE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-rf")
    outcomes = result.parseoutcomes()
    failed = {
        line.split("::")[-1].split(" ")[0] for line in result.outlines if line.startswith("FAILED ")
    }
    assert failed == FAILING
    assert outcomes["passed"] == 5
    text = PAGE.read_text()
    for name in FAILING:
        assert f"| `{name}` |" in text, f"docs/connectors.md does not list {name}"
    output = "\n".join(result.outlines)
    assert "place_order(refused_order) raised ValueError: at most 5 units per line" in output
    assert "place_order raised ConnectionError: connection refused" in output
    assert "a final status changed: delivered then cancelled" in output


def test_the_example_connectors_pass_the_same_checks() -> None:
    # the Acme example and FakeSupplier run the whole kit in their own test modules;
    # this names them so a rename does not silently drop them
    root = PAGE.parents[1] / "tests"
    for module, cls in [
        ("integration/test_acme_connector.py", "TestAcmeConnector(SupplierConnectorContract)"),
        ("unit/test_fake_supplier.py", "TestFakeSupplierContract(SupplierConnectorContract)"),
    ]:
        assert f"class {cls}" in (root / module).read_text()
