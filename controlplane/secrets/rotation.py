"""What else a master-key rotation re-seals. Apps above secrets that seal data with its key providers (the
agents' signing key, ADR 0010) register a re-wrap here from their AppConfig.ready, so secrets imports none of
them; ``do_rotate_keys`` calls each with the new master key id once every secret is re-wrapped."""

from __future__ import annotations

from collections.abc import Callable

Rewrap = Callable[[str], object]

_rewraps: list[Rewrap] = []


def register(rewrap: Rewrap) -> None:
    if rewrap not in _rewraps:  # ready() may run more than once (tests, reloads)
        _rewraps.append(rewrap)


def rewraps() -> list[Rewrap]:
    return list(_rewraps)
