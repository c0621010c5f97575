"""The shipped labelled messages and the catalogs they are for.

``examples/intake/labelled.jsonl`` labels each message with an item of the demo's intake
catalog (``examples/intake/catalog.toml``: the demo catalog's items, verbatim, and
thirteen more). ``examples/intake/labelled-demo.jsonl`` is the same messages labelled for
the demo catalog itself (``reqfulfill.testing.demo_catalog()``, as a file
``examples/catalog.toml``): a message about an item the demo catalog does not have is
labelled null, as no item of it fits, so auto-triaging it is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from reqfulfill.intake import Suggester, evaluate, read_labelled
from reqfulfill.model.catalog import Catalog
from reqfulfill.testing import demo_catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INTAKE = EXAMPLES / "intake"


def test_the_demo_catalog_file_is_the_demo_catalog() -> None:
    assert Catalog.from_toml(EXAMPLES / "catalog.toml").items == demo_catalog().items


def test_the_intake_catalog_holds_the_demo_items_verbatim() -> None:
    intake = Catalog.from_toml(INTAKE / "catalog.toml")
    assert all(intake.item(item.id) == item for item in demo_catalog().items)


def test_the_demo_labels_are_the_intake_labels_for_the_demo_catalog() -> None:
    demo = demo_catalog()
    full = [
        json.loads(line) for line in (INTAKE / "labelled.jsonl").read_text("utf-8").splitlines()
    ]
    derived = [
        {"text": row["text"], "item": row["item"] if demo.has_item(row["item"] or "") else None}
        for row in full
    ]
    lines = (INTAKE / "labelled-demo.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == derived


def test_the_demo_labelled_set_meets_the_targets() -> None:
    messages = read_labelled(INTAKE / "labelled-demo.jsonl")
    assert len(messages) >= 150
    about_items = [m for m in messages if m.item is not None]
    assert len(about_items) >= 75  # enough for precision to mean something
    assert {m.item for m in about_items} == {i.id for i in demo_catalog().items}
    result = evaluate(Suggester(demo_catalog()), messages)
    assert result.precision_at_1 >= 0.85
    assert result.precision_at_3 >= 0.95
    recommended = next(row for row in result.thresholds if row.threshold == 0.85)
    # most of the mail is about nothing the demo catalog has: none of it may be forced
    # on an item, bar a few
    assert recommended.wrong < 0.02
