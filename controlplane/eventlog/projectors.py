"""Projectors (build read models) and subscribers (follow the global order asynchronously).

- A *synchronous* projector runs inside ``append``'s transaction: its read models commit with the
  events or not at all. Only projectors write read models (``projections.py`` of each app).
- A *subscriber* follows the global order from a stored checkpoint; the checkpoint moves in the same
  transaction as the subscriber's effect, so each event takes effect exactly once.

Both skip event types this release does not know and count them, so code can roll back one version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from django.db import models, transaction

from controlplane.instruments import UNKNOWN_SKIPPED

if TYPE_CHECKING:
    from controlplane.eventlog.records import RecordedEvent

log = logging.getLogger(__name__)

Handler = Callable[["RecordedEvent"], None]


def handles(*wire_names: str) -> Callable[[Callable], Callable]:
    """Mark a projector method as the handler of these event types."""

    def mark(fn: Callable) -> Callable:
        fn._handles = wire_names  # type: ignore[attr-defined]
        return fn

    return mark


class Projector:
    """Subclass, name it, list its read models, and mark handlers with ``@handles``."""

    name: ClassVar[str]
    read_models: ClassVar[tuple[type[models.Model], ...]] = ()

    def __init__(self) -> None:
        self.unknown_skipped = 0
        self._handlers: dict[str, Handler] = {}
        for attr in dir(type(self)):
            fn = getattr(self, attr)
            for wire_name in getattr(fn, "_handles", ()):
                self._handlers[wire_name] = fn

    @property
    def handled_types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def apply(self, events: Iterable[RecordedEvent]) -> None:
        for event in events:
            if event.data is None:
                self.unknown_skipped += 1
                UNKNOWN_SKIPPED.labels(self.name).inc()
                continue
            handler = self._handlers.get(event.event_type)
            if handler is not None:
                handler(event)

    def reset(self) -> None:
        """Called when a rebuild starts, before the replay.

        ``read_models`` need nothing here: ``maintenance.rebuild`` replays them into empty shadow tables and
        merges those into the real tables in place (ADR 0016; list children before parents). Override only
        for storage the ORM does not know (a raw table), and empty it here.
        """


_sync: dict[str, Projector] = {}
# Every type some synchronous projector handles: asked on each append, so kept at hand, not rebuilt per call.
_sync_handled: frozenset[str] = frozenset()


def _note_handled() -> None:
    global _sync_handled
    _sync_handled = frozenset().union(*(projector.handled_types for projector in _sync.values()))


def register(projector: Projector) -> Projector:
    if projector.name in _sync and type(_sync[projector.name]) is not type(projector):
        raise ValueError(f"a projector named {projector.name!r} is already registered")
    _sync[projector.name] = projector
    _note_handled()
    return projector


def unregister(name: str) -> None:
    _sync.pop(name, None)
    _note_handled()


def sync_projectors() -> list[Projector]:
    return list(_sync.values())


def any_handles(wire_names: set[str]) -> bool:
    """Does a synchronous projector handle any of these types? (Then the append needs a transaction.)"""
    return not wire_names.isdisjoint(_sync_handled)


def apply_sync(events: list[RecordedEvent]) -> None:
    for projector in _sync.values():
        projector.apply(events)


class Subscription:
    """An asynchronous consumer of the global order with its own checkpoint row.

    ``handler(events)`` runs inside the transaction that moves the checkpoint; make its effects database
    writes (or outbox rows), and anything outside the database idempotent by event position.
    """

    def __init__(self, name: str, handler: Callable[[list[RecordedEvent]], None], batch_size: int = 500) -> None:
        from controlplane.eventlog.reader import GlobalReader

        self.name = name
        self.handler = handler
        self.reader = GlobalReader(batch_size=batch_size)

    def run_once(self) -> int:
        """Process one batch; returns how many events were handed to the handler."""
        from controlplane.eventlog.models import Checkpoint

        with transaction.atomic():
            Checkpoint.objects.get_or_create(name=self.name)
            checkpoint = Checkpoint.objects.select_for_update().get(name=self.name)
            events = self.reader.poll(checkpoint.position)
            if not events:
                return 0
            known = [e for e in events if e.data is not None]
            skipped = len(events) - len(known)
            if skipped:
                UNKNOWN_SKIPPED.labels(self.name).inc(skipped)
            if known:
                self.handler(known)
            Checkpoint.objects.filter(name=self.name).update(
                position=events[-1].position, unknown_skipped=models.F("unknown_skipped") + skipped
            )
            return len(events)

    def run_until_idle(self, max_batches: int = 1000) -> int:
        total = 0
        for _ in range(max_batches):
            handled = self.run_once()
            if handled == 0:
                break
            total += handled
        return total


_subscriptions: dict[str, Subscription] = {}


def subscribe(subscription: Subscription) -> Subscription:
    _subscriptions[subscription.name] = subscription
    return subscription


def subscriptions() -> list[Subscription]:
    return list(_subscriptions.values())
