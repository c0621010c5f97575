"""Commits per request on SQLite, counted as ``python -m benchmarks transactions`` counts
them (the store connection's trace callback): a count is deterministic, so it is pinned.

The phone order (submit -> approve -> claim -> the worker places the supplier order ->
a day later polls it -> prepare, ship, confirm -> the worker closes it; every effect
through the worker) takes 12 commits: 6 by people, 6 by the worker (see
docs/worker.md, "Transactions per request").
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.transaction_list import phone_order_transactions  # noqa: E402
from benchmarks.transactions import count_sqlite  # noqa: E402

PHONE_ORDER_COMMITS = 12
PASSWORD_RESET_COMMITS = 5


def test_a_phone_order_takes_at_most_12_commits_on_sqlite() -> None:
    row = count_sqlite("phone-order", 2)
    assert row["commits"] <= PHONE_ORDER_COMMITS
    # a claim that finds nothing due opens no transaction at all
    assert row["empty"] <= 1


def test_a_password_reset_takes_at_most_5_commits_on_sqlite() -> None:
    row = count_sqlite("password-reset", 2)
    assert row["commits"] <= PASSWORD_RESET_COMMITS


def test_the_listed_transactions_are_the_counted_ones() -> None:
    found = phone_order_transactions()
    commits = [tx for tx in found if tx.kind != "empty"]
    assert len(commits) == count_sqlite("phone-order", 1)["commits"]
    # people's commands: one commit each
    people = [tx.caller for tx in commits if tx.caller.startswith("service.")]
    assert people == [
        "service.submit",
        "service.approve",
        "service.claim",
        "service.complete_task",
        "service.ship",
        "service.confirm_delivery",
    ]
    # the close timer's command claims the request's three notifications; their
    # deliveries are recorded in one transaction, with no claim of their own
    closing = [tx for tx in commits if "RequestClosed" in tx.events]
    assert [tx.method for tx in closing] == ["append_and_claim"]
    assert commits[-1].events == ("RequesterNotified",) * 3
    # no claim transaction of its own: the submit's notification is sent unleased and
    # recorded with its completion; the supplier order is claimed in the transaction
    # that records its attempt
    assert [tx.method for tx in commits].count("claim_effects") == 0
    assert commits[1].caller == "worker._notify_all"
    assert commits[1].events == ("NotificationSent",)
    placing = [tx for tx in commits if "EffectAttempted" in tx.events]
    assert [(tx.method, tx.caller, tx.events) for tx in placing] == [
        ("append_and_claim", "worker._run_due", ("EffectAttempted",))
    ]
    worker = [tx for tx in commits if tx.caller.startswith("worker.")]
    assert len(worker) == 6
