"""Running a subscription in a test: :func:`run_subscription` (also the
``rf_run_subscription`` pytest fixture)."""

from __future__ import annotations

from reqfulfill.subscriptions import Subscription

__all__ = ["run_subscription"]


def run_subscription(subscription: Subscription) -> int:
    """Run ``subscription`` until it has handled every event stored now; return how
    many it handled.

    Raises ``AssertionError`` when its handler failed (naming the position and the
    error; the event stays unhandled, as in production) or when another process holds
    its lease, so a test never passes on a subscription that stopped short.
    """
    total = 0
    while True:
        handled = subscription.run_pending()
        total += handled
        if subscription.failure is not None:
            failure = subscription.failure
            raise AssertionError(
                f"subscription {subscription.name}: the handler failed at position"
                f" {failure.position} ({failure.request_id}): {failure.error}"
            )
        if not handled:
            break
    checkpoint = subscription.position or 0
    if subscription.store.read_all(after=checkpoint, limit=1):
        raise AssertionError(
            f"subscription {subscription.name} stopped at position {checkpoint} with events"
            " after it: another process holds its lease"
        )
    return total
