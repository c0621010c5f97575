"""The public API is the one listed in ``tests/data/public_api.json``.

Each listed module's ``__all__`` equals the listing and every name in it can
be read from the module. A deliberate API change regenerates the listing with
``PYTHONPATH=src python scripts/public_api.py --write`` and commits it with
the change.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

LISTING = Path(__file__).resolve().parents[1] / "data" / "public_api.json"
PUBLIC_API: dict[str, list[str]] = json.loads(LISTING.read_text(encoding="utf-8"))


def test_the_listing_covers_the_documented_modules() -> None:
    assert {
        "reqfulfill",
        "reqfulfill.lifecycle",
        "reqfulfill.rules",
        "reqfulfill.sla",
        "reqfulfill.stores",
        "reqfulfill.testing",
    } <= set(PUBLIC_API)


@pytest.mark.parametrize("module_name", sorted(PUBLIC_API))
def test_all_matches_the_listing(module_name: str) -> None:
    # the module names come from the listing in the repository
    module = importlib.import_module(module_name)  # noqa: TID251
    assert sorted(module.__all__) == PUBLIC_API[module_name], (
        f"{module_name}.__all__ differs from {LISTING.name}; if the change is deliberate, "
        "run: PYTHONPATH=src python scripts/public_api.py --write"
    )


@pytest.mark.parametrize("module_name", sorted(PUBLIC_API))
def test_every_listed_name_is_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)  # noqa: TID251
    missing = [name for name in PUBLIC_API[module_name] if not hasattr(module, name)]
    assert missing == []


def test_from_import_works_for_every_top_level_name() -> None:
    for name in PUBLIC_API["reqfulfill"]:
        # what ``from reqfulfill import <name>`` runs
        package = __import__("reqfulfill", fromlist=[name])
        assert getattr(package, name) is not None
