"""A worker refuses to start while the catalog names a supplier no installed connector
serves (every such item listed, with its path), unless ``allow_missing`` allows it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill import Catalog, Channel, FulfillmentService, TaskState, ValidationError, Worker
from reqfulfill.needs import Need, catalog_needs
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester
from reqfulfill.testing._demo import DEMO_CATALOG


def two_supplier_catalog() -> Catalog:
    """The demo catalog plus a laptop whose plan's task names supplier ``globex``."""
    data: dict[str, Any] = copy.deepcopy(DEMO_CATALOG)
    data["plans"].append(
        {
            "id": "laptop",
            "tasks": [
                {"key": "order", "kind": "supplier_order", "title": "Order", "supplier": "globex"}
            ],
        }
    )
    for laptop in ("laptop-13", "laptop-15"):
        data["items"].append(
            {
                "id": laptop,
                "name": laptop,
                "category": "Hardware",
                "group": "service-desk",
                "impact": "low",
                "urgency": "low",
                "plan": "laptop",
                "requires_approval": False,
            }
        )
    return Catalog.from_dict(data)


def service_with(*plugins: object, catalog: Catalog | None = None) -> FulfillmentService:
    return FulfillmentService(
        catalog or demo_catalog(), store="memory://", plugins=plugins, load_entrypoints=False
    )


def test_every_unserved_supplier_is_listed_with_its_path_and_items() -> None:
    with pytest.raises(ValidationError) as err:
        Worker(service_with(catalog=two_supplier_catalog()))
    problems = err.value.problems
    assert [(p.path, p.value) for p in problems] == [
        ("items[0].supplier", "acme-mobile"),
        ("plans[3].tasks[0].supplier", "globex"),
    ]
    assert "item 'iphone-15'" in problems[0].reason
    assert "items 'laptop-13', 'laptop-15'" in problems[1].reason
    assert "allow_missing=['globex']" in problems[1].reason
    assert str(err.value).startswith("the worker cannot start: 2 problems")


def test_a_served_catalog_starts() -> None:
    worker = Worker(service_with(FakeSupplier("acme-mobile")))
    assert worker.missing == []


def test_allow_missing_names_the_suppliers_this_worker_may_lack() -> None:
    service = service_with(FakeSupplier("acme-mobile"), catalog=two_supplier_catalog())
    worker = Worker(service, allow_missing=["globex"])
    assert [need.key for need in worker.missing] == ["globex"]
    with pytest.raises(ValidationError, match="acme-mobile"):
        Worker(service_with(catalog=two_supplier_catalog()), allow_missing=("globex",))
    assert len(Worker(service_with(), allow_missing=True).missing) == 1


def test_an_order_for_an_allowed_missing_supplier_fails_its_task_when_it_runs() -> None:
    service = service_with(FakeSupplier("acme-mobile"), catalog=two_supplier_catalog())
    worker = Worker(service, allow_missing=["globex"])
    rid = service.submit(demo_requester(), "laptop-13", Channel.PORTAL).id
    worker.run_pending()
    task = service.get(rid).task("order")
    assert task.state is TaskState.FAILED
    assert "supplier 'globex' not found" in task.reason


@pytest.mark.parametrize(
    ("value", "path"),
    [("globex", "allow_missing"), ([""], "allow_missing[0]"), (3, "allow_missing"),
     ({"globex": 1}, "allow_missing")],
)  # fmt: skip
def test_a_bad_allow_missing_is_refused_naming_it(value: object, path: str) -> None:
    with pytest.raises(ValidationError) as err:
        Worker(service_with(), allow_missing=value)  # type: ignore[arg-type]
    assert err.value.paths == [path]


@given(served=st.sets(st.sampled_from(["acme-mobile", "globex", "initech"])))
def test_the_worker_starts_exactly_when_every_needed_supplier_is_served(
    served: set[str],
) -> None:
    catalog = two_supplier_catalog()
    needed = {need.key for need in catalog_needs(catalog)}
    service = service_with(*(FakeSupplier(s) for s in sorted(served)), catalog=catalog)
    if needed <= served:
        assert Worker(service).missing == []
    else:
        with pytest.raises(ValidationError) as err:
            Worker(service)
        assert {p.value for p in err.value.problems} == needed - served


def test_needs_are_listed_kind_by_kind_in_catalog_order() -> None:
    assert catalog_needs(two_supplier_catalog()) == [
        Need("supplier", "acme-mobile", "items[0].supplier", ("iphone-15",)),
        Need("supplier", "globex", "plans[3].tasks[0].supplier", ("laptop-13", "laptop-15")),
    ]
