"""Request limits: at most N requests per period for one key (a credential, an address), in Django's cache.

The cache is Redis when ``CONTROLPLANE_REDIS_URL`` is set, so every web process counts together; otherwise it
is each process's memory. That is enough for the embedded default, which runs one web process; a database-backed
count would add a write to every API request on SQLite, whose single writer the event log needs.

A window opens at a key's first request and lasts one period (the key expires with it): a client over the
limit waits until its window ends, which is the ``Retry-After`` it is told.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache

Rate = tuple[int, int]  # (requests, seconds)


def _key(scope: str, ident: str) -> str:
    return f"cp:rate:{scope}:{ident}"


def hit(scope: str, ident: str, rate: Rate) -> int:
    """Count one request; 0 when it is within the limit, else the seconds until the window ends."""
    count_limit, period = rate
    key, now = _key(scope, ident), time.time()
    if cache.add(key, 1, period):
        cache.set(f"{key}:since", now, period)
        return 0
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, period)
        cache.set(f"{key}:since", now, period)
        return 0
    return 0 if count <= count_limit else _wait(key, period, now)


def exceeded(scope: str, ident: str, rate: Rate) -> int:
    """Without counting: 0 while the key is below its limit, else the seconds until its window ends."""
    count_limit, period = rate
    key = _key(scope, ident)
    return _wait(key, period, time.time()) if (cache.get(key) or 0) >= count_limit else 0


def _wait(key: str, period: int, now: float) -> int:
    since = cache.get(f"{key}:since")
    return max(1, math.ceil((since if since is not None else now) + period - now))


def reset(scope: str, ident: str) -> None:
    """Forget a key's count (an operator lifting a limit early; tests starting from nothing)."""
    key = _key(scope, ident)
    cache.delete_many([key, f"{key}:since"])
