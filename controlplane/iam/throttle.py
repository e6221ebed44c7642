"""Login throttling by (user name, client address) with growing delays, and a name-wide cap that slows a name
under attack down without ever locking it (docs/AUTHENTICATION.md, "Passwords and login throttling").

- A pair (name, address) may fail ``CONTROLPLANE_LOGIN_MAX_FAILURES`` times within the window freely. From then
  on each attempt must wait 1, 2, 4, … seconds (doubling per further failure, at most the window) after the
  pair's last failure.
- A name that failed ``CONTROLPLANE_LOGIN_NAME_FAILURES`` times within the window, from all addresses together,
  is under attack: every pair of that name that has failed at all waits from its first failure on.
- A pair without failures is never throttled: a stranger cannot lock out a user who logs in from elsewhere.
- Attempts refused while waiting are not counted; a successful login clears its pair.

Counts live in Django's cache (in-process on the embedded default, Redis when configured), for the window
(``CONTROLPLANE_LOGIN_LOCKOUT_SECONDS``) after the last failure.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def now() -> float:
    return time.time()


def _name(username: str) -> str:
    return username.strip().lower()


def _pair_key(username: str, address: str) -> str:
    # hashed: user names may hold characters a cache key must not
    return "cp:login-pair:" + hashlib.sha256(f"{_name(username)}\0{address}".encode()).hexdigest()


def _name_key(username: str) -> str:
    return "cp:login-name:" + hashlib.sha256(_name(username).encode()).hexdigest()


def retry_after(username: str, address: str) -> int:
    """Seconds this pair must still wait before its next attempt is even checked (0: go ahead)."""
    failures, last = cache.get(_pair_key(username, address)) or (0, 0.0)
    allowance = settings.CONTROLPLANE_LOGIN_MAX_FAILURES
    if (cache.get(_name_key(username)) or 0) >= settings.CONTROLPLANE_LOGIN_NAME_FAILURES:
        allowance = 1
    if failures == 0 or failures < allowance:
        return 0
    delay = min(2 ** min(failures - allowance, 30), settings.CONTROLPLANE_LOGIN_LOCKOUT_SECONDS)
    return max(0, math.ceil(last + delay - now()))


def note_failure(username: str, address: str) -> None:
    window = settings.CONTROLPLANE_LOGIN_LOCKOUT_SECONDS
    key = _pair_key(username, address)
    failures, _ = cache.get(key) or (0, 0.0)
    cache.set(key, (failures + 1, now()), window)
    name_key = _name_key(username)
    if not cache.add(name_key, 1, window):
        try:
            cache.incr(name_key)
        except ValueError:  # expired between add and incr
            cache.set(name_key, 1, window)
        cache.touch(name_key, window)


def clear(username: str, address: str) -> None:
    """After a successful login: the pair starts afresh (the name-wide count runs out with its window)."""
    cache.delete(_pair_key(username, address))
