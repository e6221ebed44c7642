"""Waiting on a condition instead of sleeping: poll a predicate until it holds, or fail naming what was awaited."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


Message = str | Callable[[], str]


def _describe(message: Message, predicate: object) -> str:
    if callable(message):
        return message()
    if message:
        return message
    try:  # unnamed: the predicate's own line says what was awaited
        return inspect.getsource(predicate).strip()  # type: ignore[arg-type]
    except (OSError, TypeError):
        return repr(predicate)


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.02, message: Message = "") -> T:
    """Call ``predicate`` until it returns something truthy, and return that; fail after ``timeout`` seconds.

    The timeout only bounds a hang: a passing test never waits it out, so it can be generous. ``message`` names
    what is awaited; a callable is asked only on failure (for a server's output, say). A predicate that can
    tell the wait is hopeless (the process it waits on exited) raises rather than waiting out the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {_describe(message, predicate)}")
        time.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], T | Awaitable[T]], timeout: float = 30.0, interval: float = 0.01, message: Message = ""
) -> T:
    """``wait_until`` for asyncio tests: the predicate may be a coroutine function; the loop keeps running."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {_describe(message, predicate)}")
        await asyncio.sleep(interval)
