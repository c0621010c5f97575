"""The rules both sides of ``benchmarks/process.py`` route with, in reqfulfill's data form,
and the DMN tables SpiffWorkflow reads (generated from the same data).

* ``routing`` -- a first-hit assignment table of 20 rules over the item, the
  requester's department, location and VIP flag, and the channel; the demo
  requester's password reset and phone order are routed by its 19th rule, the
  20th is a catch-all;
* ``prioritization`` -- three first-hit rules (VIP on chat or phone, VIP,
  e-mail); a request none of them matches keeps the item's impact and urgency;
* ``priority_matrix`` -- reqfulfill's ITIL matrix (impact x urgency -> priority).

``python -m benchmarks.process_rules`` writes the three ``.dmn`` files into
``benchmarks/spiff/``; ``process`` checks before timing that the shipped files are
what this module generates.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from benchmarks.spiff_model import SPIFF_DIR, dmn_table, priority_matrix_dmn
from reqfulfill.rules import Rules

PROCESS_COLUMNS = (
    ("item.id", "item_id"),
    ("requester.department", "department"),
    ("requester.location", "location"),
    ("requester.vip", "vip"),
    ("channel", "channel"),
)
"""The facts the process tables read (the demo requests have no ``answers.cost``)."""

_ITEMS = ["crm-access", *(f"item-{i:03d}" for i in range(12))]
_DEPARTMENTS = ["Sales", "HR", "IT", "Legal"]
_LOCATIONS = ["Espoo", "Tampere", "Remote"]
_GROUPS = ["service-desk", "desk-l2", "identity"]


def process_routing(size: int = 20, seed: int = 5) -> list[dict[str, Any]]:
    """``size`` assignment rules: ``size - 2`` that never match the demo requester
    (other items, departments, locations, VIPs or channels), then the rule that routes
    her requests, then a catch-all."""
    rng = random.Random(seed)
    rules: list[dict[str, Any]] = []
    for index in range(size - 2):
        roll = rng.random()
        when: dict[str, Any]
        if roll < 0.4:
            when = {"item.id": rng.choice(_ITEMS)}
        elif roll < 0.6:
            when = {"item.id": rng.sample(_ITEMS, 2), "channel": rng.choice(["email", "chat"])}
        elif roll < 0.8:
            when = {
                "requester.department": rng.choice(_DEPARTMENTS),
                "requester.location": rng.choice(_LOCATIONS),
            }
        else:
            when = {"requester.vip": True, "channel": rng.choice(["phone", "chat"])}
        rules.append({"name": f"r{index}", "when": when, "then": {"group": rng.choice(_GROUPS)}})
    rules.append(
        {
            "name": "finance-desk",
            "when": {"item.id": ["iphone-15", "password-reset"], "requester.department": "Finance"},
            "then": {"group": "service-desk"},
        }
    )
    rules.append({"name": "catch-all", "when": {}, "then": {"group": "service-desk"}})
    return rules


PROCESS_PRIORITY: list[dict[str, Any]] = [
    {
        "name": "vip-urgent",
        "when": {"requester.vip": True, "channel": ["chat", "phone"]},
        "then": {"impact": "high", "urgency": "high"},
    },
    {
        "name": "vip",
        "when": {"requester.vip": True},
        "then": {"impact": "high", "urgency": "medium"},
    },
    {"name": "email", "when": {"channel": "email"}, "then": {"impact": "low", "urgency": "low"}},
]


def process_rules() -> Rules:
    """The reqfulfill side's rules (the ITIL matrix is ``Rules``' default)."""
    return Rules.from_dict(
        {
            "assignment": {"rules": process_routing()},
            "prioritization": {"rules": PROCESS_PRIORITY},
        }
    )


def process_dmn() -> dict[str, str]:
    """The SpiffWorkflow side's tables, by decision id."""
    return {
        "routing": dmn_table("routing", process_routing(), ["group"], columns=PROCESS_COLUMNS),
        "prioritization": dmn_table(
            "prioritization",
            PROCESS_PRIORITY,
            ["impact", "urgency"],
            columns=(("requester.vip", "vip"), ("channel", "channel")),
            otherwise={"impact": "item_impact", "urgency": "item_urgency"},
        ),
        "priority_matrix": priority_matrix_dmn(),
    }


def check_shipped(folder: Path = SPIFF_DIR) -> None:
    """Raise unless the ``.dmn`` files in ``folder`` are the generated ones."""
    for name, text in process_dmn().items():
        path = folder / f"{name}.dmn"
        if path.read_text() != text:
            raise AssertionError(f"{path} differs: python -m benchmarks.process_rules rewrites it")


if __name__ == "__main__":  # pragma: no cover
    for name, text in process_dmn().items():
        (SPIFF_DIR / f"{name}.dmn").write_text(text)
        print(f"wrote {SPIFF_DIR / name}.dmn")
