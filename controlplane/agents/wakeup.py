"""Waking long polls without a thread per waiting agent (docs/adr/0010-agent-long-poll.md).

A waiting poll is an ``asyncio.Event`` in the web process's event loop. Two things set it:
- ``notify(agent_id)``: an action queued by this process (an operator's request, an operation step run in the
  web process) wakes the poll at once, from whatever thread committed it;
- one watcher task per event loop that every ``WATCH_SECONDS`` asks the database, in one query for all waiting
  agents, which of them have work: actions queued by another process (a Celery worker) are seen within that.

At DEBUG each poll logs when it parks and unparks, with the number parked in the process: the one outside view
of a poll that waits (the long-poll tests read it from daphne's output).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.5
_CHUNK = 1000

_loop: asyncio.AbstractEventLoop | None = None
_waiters: dict[str, set[asyncio.Event]] = {}
_watcher: asyncio.Task | None = None
_parked = 0  # the events in _waiters, kept as a count: summing them per poll costs too much with many agents


def _wake(agent_id: str) -> None:
    for event in _waiters.get(agent_id, ()):
        event.set()


def notify(agent_id: str) -> None:
    """Wake the polls of ``agent_id`` waiting in this process (safe from any thread)."""
    loop = _loop
    if loop is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _wake(agent_id)
    else:
        loop.call_soon_threadsafe(_wake, agent_id)


async def wait(agent_id: str, timeout: float, has_work: Callable[[list[str]], Awaitable[set[str]]]) -> bool:
    """Wait until woken or ``timeout`` seconds pass; True when woken. ``has_work(agent_ids)`` is the
    database check (a coroutine function) the watcher runs for every waiting agent at once."""
    global _loop, _watcher, _parked
    loop = asyncio.get_running_loop()
    _loop = loop
    event = asyncio.Event()
    _waiters.setdefault(agent_id, set()).add(event)
    _parked += 1
    log.debug("poll parked: agent %s, %d parked in this process", agent_id, _parked)
    if _watcher is None or _watcher.done() or _watcher.get_loop() is not loop:
        _watcher = loop.create_task(_watch(has_work))
    outcome = "cancelled"
    try:
        await asyncio.wait_for(event.wait(), timeout)
        outcome = "woken"
        return True
    except TimeoutError:
        outcome = "timed out"
        return False
    finally:
        waiting = _waiters.get(agent_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del _waiters[agent_id]
        _parked -= 1
        log.debug("poll unparked (%s): agent %s, %d parked in this process", outcome, agent_id, _parked)


async def _watch(check: Callable[[list[str]], Awaitable[set[str]]]) -> None:
    while _waiters:
        await asyncio.sleep(WATCH_SECONDS)
        agent_ids = list(_waiters)
        for start in range(0, len(agent_ids), _CHUNK):
            try:
                ready = await check(agent_ids[start : start + _CHUNK])
            except Exception:  # a database hiccup must not end the watcher: the polls time out normally
                log.exception("agent poll watcher: the work check failed")
                continue
            for agent_id in ready:
                _wake(agent_id)


def waiting_count() -> int:
    return _parked
