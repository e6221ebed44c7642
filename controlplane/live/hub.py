"""One tailer per web process: it follows the global log and fans events out in-process (docs/adr, LIVE.md).

The ``Hub`` of an event loop owns one tailer task while at least one websocket is subscribed. The tailer
starts at a safe head of the log (``eventlog.reader.safe_head``), then reads with the ``GlobalReader`` after
the last position it delivered, so it never skips an event that commits late with a lower position. Each
event is routed by its keys (stream, tenant, tenant + stream type) to the subscribers indexed under them,
rendered once and queued to each (each subscriber's task then applies its topic's match). The tailer's
database work runs on its own thread, with its own connection, so it never waits behind (or delays) the
requests on Django's sync thread.

Wake-ups: with Redis (``CONTROLPLANE_REDIS_URL``) a notice after every commit (``commit_notices.py``) makes the
tailer poll at once, and it polls every ``LIVE_POLL_SECONDS`` (1 s by default) only as a safety net; without
Redis it polls every ``LIVE_POLL_SECONDS`` (150 ms by default).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

from controlplane.eventlog.reader import GlobalReader, safe_head
from controlplane.eventlog.records import RecordedEvent
from controlplane.live.messages import render
from controlplane.live.topics import Key, Topic, event_keys

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # messages waiting for one client before it is told to reconnect (close 4408)
GAP_RETRY = 0.01  # seconds: a poll that stopped at a gap (PostgreSQL) is retried this soon
MAX_BACKOFF = 10.0


class Lagged(Exception):
    """The client fell more than QUEUE_LIMIT messages behind; it resumes from the log with ?after=."""


class Subscriber:
    """One websocket's inbox. The hub offers (event, text) in position order; the consumer takes them."""

    def __init__(self, topic: Topic, limit: int | None = None) -> None:
        self.topic = topic
        self.limit = limit or QUEUE_LIMIT
        self.lagged = False
        self._pending: collections.deque[tuple[RecordedEvent, str]] = collections.deque()
        self._ready = asyncio.Event()

    def offer(self, event: RecordedEvent, text: str) -> None:
        if self.lagged:
            return
        if len(self._pending) >= self.limit:
            self.lagged = True
            self._pending.clear()
        else:
            self._pending.append((event, text))
        self._ready.set()

    async def take(self) -> list[tuple[RecordedEvent, str]]:
        while not self._pending and not self.lagged:
            self._ready.clear()
            await self._ready.wait()
        if self.lagged:
            raise Lagged()
        batch = list(self._pending)
        self._pending.clear()
        return batch


class Hub:
    def __init__(
        self,
        *,
        poll_interval: float,
        redis_url: str | None = None,
        batch_size: int = 500,
        using: str = "default",
    ) -> None:
        self.poll_interval = poll_interval
        self.redis_url = redis_url
        self.batch_size = batch_size
        self.using = using
        self.position: int | None = None  # the last position delivered (everything at or below it is done)
        self.notified = 0  # the highest position a wake-up notice announced
        self.polls = 0  # for tests and metrics
        self._by_key: dict[Key, set[Subscriber]] = collections.defaultdict(set)
        self._count = 0
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = False

    # --- subscribers -------------------------------------------------------------------------------------
    async def join(self, subscriber: Subscriber) -> int:
        """Subscribe; returns the horizon: everything after it reaches ``subscriber``, nothing at or below it
        will. (No await between reading the horizon and indexing the subscriber, so no event falls between.)"""
        while True:
            if self._task is None or self._task.done() or self._stopping:
                self._stopping = False
                self._ready = asyncio.Event()
                self._task = asyncio.create_task(self._run(self._ready), name="live-tailer")
            ready, task = self._ready, self._task
            self._count += 1  # counted while waiting, so the tailer does not stop under us
            try:
                await ready.wait()
            finally:
                self._count -= 1
            if task is self._task and not task.done() and not self._stopping:
                break
        for key in subscriber.topic.keys:
            self._by_key[key].add(subscriber)
        self._count += 1
        assert self.position is not None
        return self.position

    def leave(self, subscriber: Subscriber) -> None:
        removed = False
        for key in subscriber.topic.keys:
            members = self._by_key.get(key)
            if members is not None and subscriber in members:
                members.discard(subscriber)
                removed = True
                if not members:
                    del self._by_key[key]
        if removed:
            self._count -= 1
            if self._count == 0:
                self._wake.set()  # let an idle tailer notice it can stop

    @property
    def subscribers(self) -> int:
        return self._count

    # --- the tailer -------------------------------------------------------------------------------------
    async def _run(self, ready: asyncio.Event) -> None:
        executor = ThreadPoolExecutor(1, thread_name_prefix="live-tailer")
        reader = GlobalReader(using=self.using, batch_size=self.batch_size)
        loop = asyncio.get_running_loop()

        def db(fn: Callable[..., Any], *args: Any) -> asyncio.Future:
            return loop.run_in_executor(executor, fn, *args)

        def close_connection() -> None:
            connections[self.using].close()

        listener = asyncio.create_task(self._listen(db), name="live-wakeups") if self.redis_url else None
        backoff = 0.5
        try:
            while True:
                try:
                    self.position = await db(safe_head, self.using)
                    break
                except Exception:
                    log.exception("live: cannot read the head of the event log; retrying in %.1f s", backoff)
                    await db(close_connection)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
            ready.set()
            backoff = 0.5
            while self._count > 0:
                try:
                    # Cleared before the read, not before the sleep: a wake-up that arrives while the read is
                    # under way (a notice, or the listener's "just subscribed") must make the sleep end at once.
                    self._wake.clear()
                    events = await db(reader.poll, self.position)
                    self.polls += 1
                except Exception:
                    log.exception("live: reading the event log failed; retrying in %.1f s", backoff)
                    await db(close_connection)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                backoff = 0.5
                if events:
                    self.position = events[-1].position
                    self._fan_out(events)
                    if len(events) >= self.batch_size:
                        continue  # more is waiting
                if reader.lag_waiting() or self.notified > self.position:
                    await self._sleep(GAP_RETRY)  # a gap, or an announced commit not seen yet: look again soon
                else:
                    await self._sleep(self.poll_interval)
            # No subscriber left: stop (the next join starts a tailer at the head again). Said before any
            # await, so a join from now on starts a new tailer rather than waiting on this one.
            self._stopping = True
        finally:
            if listener is not None:
                listener.cancel()
            # Queued, not awaited: a cancellation arriving now (the loop shutting down) must not skip it. It runs
            # after any read still in flight on the thread, which then ends.
            executor.submit(close_connection)
            executor.shutdown(wait=False)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        me = asyncio.current_task()
        if me is not None and me.cancelling():
            raise asyncio.CancelledError()  # wait_for of Python 3.11 can lose a cancel that races its timeout

    def _fan_out(self, events: list[RecordedEvent]) -> None:
        """Route each event by its keys; the subscriber's own task applies its topic's match (consumers.py)."""
        index = self._by_key
        for event in events:
            targets: set[Subscriber] = set()
            for key in event_keys(event):
                members = index.get(key)
                if members:
                    targets |= members
            if targets:
                text = render(event)
                for subscriber in targets:
                    subscriber.offer(event, text)

    async def _listen(self, db: Callable[..., asyncio.Future]) -> None:
        """Wake-up notices from Redis (commit_notices.py). Failing here costs latency, never events."""
        import redis.asyncio as aioredis

        from controlplane.live.commit_notices import channel_name

        me = asyncio.current_task()
        channel = await db(channel_name, self.using)
        backoff = 0.5
        while not (me is not None and me.cancelling()):
            client = aioredis.Redis.from_url(self.redis_url)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(channel)
                backoff = 0.5
                self._wake.set()  # notices may have been missed while not subscribed
                # get_message with a timeout, not listen(): redis-py can swallow a cancel while it waits for a
                # message, so the loop looks at its own cancellation at least once a second.
                while not (me is not None and me.cancelling()):
                    notice = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if notice is None or notice.get("type") != "message":
                        continue
                    position = int(notice["data"])
                    if position > self.notified:
                        self.notified = position
                        if self.position is None or position > self.position:
                            self._wake.set()
            except Exception as exc:
                if me is not None and me.cancelling():
                    raise asyncio.CancelledError() from None  # the client library turned our cancel into an error
                log.warning("live: wake-up notices unavailable (%s); polling meanwhile", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                for closing in (pubsub.aclose, client.aclose):
                    try:
                        await asyncio.wait_for(closing(), 1)
                    except (Exception, asyncio.CancelledError):  # noqa: S110  (best effort; the cause goes on)
                        pass


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (daphne runs one loop per process)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = Hub(poll_interval=settings.LIVE_POLL_SECONDS, redis_url=settings.REDIS_URL)
        _hubs[loop] = found
    return found
