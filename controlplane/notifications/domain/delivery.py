"""A delivery's states and moves, and when a failed one is tried again. Pure.

queued -> sending -> delivered | retrying | dead; retrying -> sending; dead -> queued (redeliver). A sending
delivery whose worker died is taken again by the beat's re-queue (``sending -> sending``): deliveries are at least
once, and the dedup key keeps one notice from becoming two deliveries.
"""

from __future__ import annotations

import random
from enum import StrEnum


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    DEAD = "dead"


TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.QUEUED: frozenset({DeliveryState.SENDING}),
    DeliveryState.SENDING: frozenset(
        {DeliveryState.DELIVERED, DeliveryState.RETRYING, DeliveryState.DEAD, DeliveryState.SENDING}
    ),
    DeliveryState.RETRYING: frozenset({DeliveryState.SENDING}),
    DeliveryState.DEAD: frozenset({DeliveryState.QUEUED}),
    DeliveryState.DELIVERED: frozenset(),
}
# Where a worker may take a delivery from to send it.
SENDABLE = (DeliveryState.QUEUED, DeliveryState.RETRYING)


def allowed(source: str, target: str) -> bool:
    return DeliveryState(target) in TRANSITIONS[DeliveryState(source)]


def after_failure(attempts: int, max_attempts: int) -> DeliveryState:
    """A failed attempt (the ``attempts``-th) leaves the delivery retrying, or dead once attempts are spent."""
    return DeliveryState.DEAD if attempts >= max_attempts else DeliveryState.RETRYING


def backoff_seconds(attempts: int, base: float, *, cap: float = 3600.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter after the ``attempts``-th failure: uniform in [base*2^(n-1)/2,
    base*2^(n-1)], at most ``cap``. Half the window is kept so that a retry is never immediate."""
    window = min(cap, base * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(window / 2, window)
