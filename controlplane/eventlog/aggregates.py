"""Loading an aggregate's state from its stream, with snapshots so long streams are not replayed each time.

An ``AggregateSpec`` names the pure functions of a domain aggregate (``initial``, ``evolve``) and how
its state goes to and from a snapshot. ``load`` starts from the newest snapshot and replays only the
events after it; ``save_snapshot_if_due`` writes one every ``snapshot_every`` versions. Snapshots are a
cache: bumping ``snapshot_schema`` (when the state's shape changes) makes old ones ignored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections, transaction

from controlplane.eventlog.dialects import READ_COLUMNS, dialect_for, is_deadlock
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.records import RecordedEvent, from_row
from controlplane.eventlog.store import StreamRef, append

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class AggregateSpec(Generic[S]):
    name: str
    initial: Callable[[], S]
    evolve: Callable[[S, RecordedEvent], S]
    to_snapshot: Callable[[S], dict[str, Any]]
    from_snapshot: Callable[[dict[str, Any]], S]
    snapshot_every: int = 100
    snapshot_schema: int = 1


def load(spec: AggregateSpec[S], stream_id: str, *, using: str = "default") -> tuple[S, int]:
    """The aggregate's current state and stream version (0 and the initial state for a new stream)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT version, state FROM eventlog_snapshot "
            "WHERE stream_id = %s AND aggregate = %s AND snapshot_schema = %s",
            [stream_id, spec.name, spec.snapshot_schema],
        )
        snap = cursor.fetchone()
        if snap is None:
            state, version = spec.initial(), 0
        else:
            version, state = snap[0], spec.from_snapshot(json.loads(snap[1]))
        rows = dialect_for(connections[using].vendor).fetch(
            connections[using],
            f"SELECT {READ_COLUMNS} FROM eventlog_event WHERE stream_id = %s AND version > %s ORDER BY version",
            [stream_id, version],
        )
        for row in rows:
            event = from_row(row)
            state = spec.evolve(state, event)
            version = event.version
    return state, version


def save_snapshot_if_due(
    spec: AggregateSpec[S], stream_id: str, state: S, old_version: int, new_version: int, *, using: str = "default"
) -> bool:
    """Store a snapshot when the append crossed a multiple of ``snapshot_every``. Call inside the append's
    transaction or after it; a lost snapshot only costs replay time."""
    if new_version // spec.snapshot_every == old_version // spec.snapshot_every:
        return False
    text = json.dumps(spec.to_snapshot(state), sort_keys=True, separators=(",", ":"))
    with connections[using].cursor() as cursor:
        cursor.execute(
            "UPDATE eventlog_snapshot SET version = %s, state = %s, snapshot_schema = %s "
            "WHERE stream_id = %s AND aggregate = %s AND version < %s",
            [new_version, text, spec.snapshot_schema, stream_id, spec.name, new_version],
        )
        if cursor.rowcount == 0:
            cursor.execute(
                "SELECT 1 FROM eventlog_snapshot WHERE stream_id = %s AND aggregate = %s", [stream_id, spec.name]
            )
            if cursor.fetchone() is None:
                cursor.execute(
                    "INSERT INTO eventlog_snapshot (stream_id, aggregate, snapshot_schema, version, state) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [stream_id, spec.name, spec.snapshot_schema, new_version, text],
                )
    return True


def execute(
    spec: AggregateSpec[S],
    stream: StreamRef,
    decide: Callable[[S], list[object]],
    metadata: Metadata,
    *,
    expected_version: int | None = None,
    using: str = "default",
) -> list[RecordedEvent]:
    """Load, let the pure ``decide`` return new events (or raise a domain error), append, snapshot.

    The usual body of a ``do_<verb>_<noun>`` action. ``expected_version``: the version the caller last
    saw (an API client's If-Match); a stream that moved since raises ConcurrencyConflict. A conflict
    propagates: the caller decides whether to retry (workers: ``execute_retrying``) or answer 409 (API).
    """
    run = functools.partial(_execute, spec, stream, decide, metadata, expected_version=expected_version, using=using)
    return _owner_retries_deadlocks(using, run)[1]


def execute_retrying(
    spec: AggregateSpec[S],
    stream: StreamRef,
    decide: Callable[[S], list[object]],
    metadata: Metadata,
    *,
    attempts: int = 5,
    using: str = "default",
) -> tuple[S, list[RecordedEvent]]:
    """``execute`` for workers and pollers, which hold no version a person saw: a concurrent writer makes
    ``decide`` run again on the fresh state, up to ``attempts`` times (then the last ConcurrencyConflict
    propagates). Returns the state after the append and the events written."""
    for attempt in range(attempts):
        try:
            run = functools.partial(_execute, spec, stream, decide, metadata, expected_version=None, using=using)
            return _owner_retries_deadlocks(using, run)
        except ConcurrencyConflict:
            if attempt == attempts - 1:
                raise
    raise ValueError("attempts must be at least 1")


# A deadlock victim's transaction was rolled back whole by the server (InnoDB, PostgreSQL): when this call
# owns the transaction nothing of it happened, so it runs again on fresh state. Inside a caller's transaction
# the error propagates: only the owner of the transaction can retry it.
DEADLOCK_RETRIES = 3


def _owner_retries_deadlocks(using: str, attempt: Callable[[], T]) -> T:
    owns_transaction = not connections[using].in_atomic_block
    for tried in range(DEADLOCK_RETRIES + 1):
        try:
            return attempt()
        except DatabaseError as exc:
            if not (owns_transaction and tried < DEADLOCK_RETRIES and is_deadlock(exc)):
                raise
    raise AssertionError("unreachable")


def _execute(
    spec: AggregateSpec[S],
    stream: StreamRef,
    decide: Callable[[S], list[object]],
    metadata: Metadata,
    *,
    expected_version: int | None,
    using: str,
) -> tuple[S, list[RecordedEvent]]:
    with transaction.atomic(using=using):
        state, version = load(spec, stream.id, using=using)
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(
                f"{stream.id} is at version {version}, not {expected_version}",
                stream_id=stream.id,
                expected_version=expected_version,
                actual_version=version,
            )
        events = decide(state)
        if not events:
            return state, []
        recorded = append(stream, version, events, metadata, using=using)
        for event in recorded:
            state = spec.evolve(state, event)
        save_snapshot_if_due(spec, stream.id, state, version, recorded[-1].version, using=using)
    return state, recorded
