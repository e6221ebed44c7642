"""How the core tells its caller what it is doing: a `Reporter` the CLI draws progress bars with, the agent
turns into action progress, and the tests ignore. The core never prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Reporter:
    """Does nothing; subclasses override what they show."""

    def step(self, name: str, state: str, detail: dict[str, Any] | None = None) -> None:
        """`state` is started, done, skipped (already done: resume or idempotent) or failed."""

    def progress(self, name: str, done: int, total: int | None) -> None:
        """Bytes (fetch, verify, unpack) so far of `total` (None when unknown)."""

    def note(self, text: str) -> None:
        """A sentence the operator should read (a signature not checked, a warning from preflight)."""


@dataclass
class Recorder(Reporter):
    """Keeps everything it is told (for tests and for the agent's action result)."""

    events: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def step(self, name: str, state: str, detail: dict[str, Any] | None = None) -> None:
        self.events.append((name, state))

    def note(self, text: str) -> None:
        self.notes.append(text)
