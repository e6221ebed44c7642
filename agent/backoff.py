"""Exponential backoff with jitter: 1 s doubling to 60 s (docs/AGENT_PROTOCOL.md, "Heartbeat")."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt after one more failure: full jitter over the upper half, so
        many agents cut off together do not come back in step."""
        ceiling = min(self.cap, self.first * (2**self.failures))
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
