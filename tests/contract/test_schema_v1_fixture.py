"""A SQLite database written by the first schema (store schema 1, event schema 1) still
loads: the reference scenario recorded by release 0.1.0, read back by this code."""

from __future__ import annotations

import shutil
from pathlib import Path

from reqfulfill import FulfillmentService, RequestState, lifecycle
from reqfulfill.model import events as ev
from reqfulfill.serialization import event_from_json, event_to_json
from reqfulfill.stores.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION
from reqfulfill.testing import demo_catalog

FIXTURE = Path(__file__).parents[1] / "data" / "stores" / "schema-v1.db"


def test_a_schema_v1_database_loads(tmp_path: Path) -> None:
    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)  # opening migrates in place: never touch the fixture
    service = FulfillmentService(demo_catalog(), store=f"sqlite:///{copy}", load_entrypoints=False)
    try:
        (row,) = service.store.query()
        request = service.get(row.request_id)
        history = service.history(row.request_id)
    finally:
        service.store.close()
    assert request.state is RequestState.CLOSED
    assert request.item == "iphone-15"
    assert request.feedback is not None
    assert request.feedback.rating == 5
    assert request.version == len(history) == 34
    assert lifecycle.replay(history) == request
    assert isinstance(history[0], ev.RequestSubmitted)
    assert [event_from_json(event_to_json(e)) for e in history] == history


def test_db_upgrade_builds_the_metric_facts_of_a_schema_v1_database(tmp_path: Path) -> None:
    from reqfulfill.cli.db import upgrade
    from reqfulfill.metrics import metrics_rows, request_facts
    from reqfulfill.stores import SQLiteStore

    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    url = f"sqlite:///{copy}"
    assert upgrade(url) == SQLITE_SCHEMA_VERSION
    store = SQLiteStore(copy)
    try:
        assert store.facts_to_rebuild() == []  # db upgrade built them
        (row,) = store.query()
        history = store.load(row.request_id)
        replayed = [request_facts(lifecycle.replay(history), history)]
    finally:
        store.close()
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    try:
        for by in ("item", "group", "agent"):
            expected = metrics_rows(replayed, by)  # type: ignore[arg-type]
            assert service.metrics(by=by) == expected
        (item,) = service.metrics(by="item")
        assert item.key == "iphone-15"
        assert item.csat == 5.0
    finally:
        service.store.close()


def test_metrics_rebuild_the_facts_db_upgrade_has_not_built(tmp_path: Path) -> None:
    from reqfulfill.metrics import metrics_rows, request_facts

    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    service = FulfillmentService(demo_catalog(), store=f"sqlite:///{copy}", load_entrypoints=False)
    try:
        (row,) = service.store.query()
        assert service.store.facts_to_rebuild() == [row.request_id]  # opening migrated
        history = service.history(row.request_id)
        expected = metrics_rows([request_facts(lifecycle.replay(history), history)], "item")
        assert service.metrics() == expected
        assert service.store.facts_to_rebuild() == []
    finally:
        service.store.close()
