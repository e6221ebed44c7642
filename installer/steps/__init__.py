"""The installer's steps. Each is a function `(ctx) -> dict` that is idempotent: run twice, it does its work
once and the second run finds it done (and says so in its result). `installer.run` strings them together in a
journal; `installer.plan` asks the same modules what they would change without changing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from installer.progress import Reporter
from installer.spec import InstallSpec, Layout


@dataclass
class Context:
    spec: InstallSpec
    layout: Layout
    reporter: Reporter = field(default_factory=Reporter)
    # What earlier steps found, by step name (fetch's tarball path, verify's digest...), restored from the
    # journal on --resume.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    force: bool = False
    # The version that was current before this run (upgrade/rollback), and the one it moves to.
    previous: str | None = None


Step = Callable[[Context], dict[str, Any]]
