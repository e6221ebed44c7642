"""Login throttling: after N failures for a user name or from an address, refuse logins for a while.

Counts live in Django's cache (in-process on the embedded default, Redis when configured).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    keys = [f"cp:login-fail:user:{username.strip().lower()}"] if username else []
    if address:
        keys.append(f"cp:login-fail:addr:{address}")
    return keys


def is_locked(username: str, address: str) -> bool:
    limit = settings.CONTROLPLANE_LOGIN_MAX_FAILURES
    return any((cache.get(key) or 0) >= limit for key in _keys(username, address))


def note_failure(username: str, address: str) -> None:
    window = settings.CONTROLPLANE_LOGIN_LOCKOUT_SECONDS
    for key in _keys(username, address):
        if not cache.add(key, 1, window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, window)


def clear(username: str) -> None:
    for key in _keys(username, ""):
        cache.delete(key)
