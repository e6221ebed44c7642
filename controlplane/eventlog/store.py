"""Appending to and reading streams of the event log.

``append`` is the one way events enter the log: one transaction that checks and moves the stream head
(optimistic concurrency), inserts the events with their hash chain, and runs the synchronous
projectors, so read models never disagree with the log. Raw SQL on purpose: the ORM's per-row cost
is what would cap throughput here (docs/eventlog.md).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from time import time_ns

import orjson
from django.db import connections, transaction

from controlplane import instruments
from controlplane.eventlog import projectors, types
from controlplane.eventlog.dialects import READ_COLUMNS, Batch, dialect_for
from controlplane.eventlog.errors import (
    InvalidAppend,
    MetadataMissing,
    PayloadNotSerializable,
)
from controlplane.eventlog.hashing import EPOCH
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.records import RecordedEvent, from_row, recorded_event

MAX_ID = 100  # stream ids and types
MAX_META = 64


@dataclass(frozen=True)
class StreamRef:
    type: str  # e.g. "tenancy.tenant"
    id: str  # globally unique, e.g. "tenant-3f2c…"

    def __post_init__(self) -> None:
        if not self.type or len(self.type) > MAX_ID:
            raise InvalidAppend(f"stream type must be 1..{MAX_ID} characters", stream_type=self.type)
        if not self.id or len(self.id) > MAX_ID:
            raise InvalidAppend(f"stream id must be 1..{MAX_ID} characters", stream_id=self.id)


# json.dumps with these options builds a new encoder on every call; one shared instance gives the same text.
_PAYLOAD_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


# Values whose JSON text orjson writes byte for byte as the encoder above does (checked for every code
# point in tests/eventlog/test_append_paths.py). Floats are not among them: their exponent form differs.
_FLAT_TYPES = frozenset({str, int, bool, type(None)})
_SORT_KEYS = orjson.OPT_SORT_KEYS


def _payload_text(payload: dict) -> str:
    """The payload's JSON text: sorted keys, no spaces, UTF-8 as is, NaN refused."""
    flat = _FLAT_TYPES
    for value in payload.values():
        if type(value) not in flat:
            return _PAYLOAD_ENCODER.encode(payload)
    try:
        return orjson.dumps(payload, option=_SORT_KEYS).decode()
    except TypeError:  # an int beyond 64 bits, a lone surrogate, a key that is not a str
        return _PAYLOAD_ENCODER.encode(payload)


def _encode(event: object) -> tuple[types.EventSpec, dict, str]:
    spec = types.spec_for_event(event)
    payload = types.to_payload(event, spec)
    try:
        text = _payload_text(payload)
    except (TypeError, ValueError) as exc:
        bad = [name for name, value in payload.items() if not _json_ok(value)]
        raise PayloadNotSerializable(
            f"{spec.wire_name} payload is not JSON-serialisable: {exc}", event_type=spec.wire_name, fields=bad
        ) from None
    return spec, payload, text


def _json_ok(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _check_metadata(metadata: Metadata, specs: list[types.EventSpec]) -> tuple:
    if metadata.actor is None or not metadata.actor.id:
        raise MetadataMissing("every event needs an actor (kind and id)")
    if metadata.tenant_id is None and not all(spec.tenantless for spec in specs):
        names = sorted({spec.wire_name for spec in specs if not spec.tenantless})
        raise MetadataMissing(f"tenant is missing from the metadata of {', '.join(names)}", event_types=names)
    meta = (
        metadata.tenant_id,
        metadata.workspace_id,
        metadata.actor.kind,
        metadata.actor.id,
        metadata.request_id,
        metadata.correlation_id,
        metadata.causation_id,
        metadata.client_address,
    )
    limits = (MAX_META, MAX_META, 16, 150, MAX_META, MAX_META, MAX_META, MAX_META)
    for value, limit in zip(meta, limits, strict=True):
        if value is not None and len(value) > limit:
            raise InvalidAppend(f"a metadata value is longer than {limit} characters", value=value[:80])
    return meta


def append(
    stream: StreamRef,
    expected_version: int,
    events: Sequence[object],
    metadata: Metadata,
    *,
    using: str = "default",
) -> list[RecordedEvent]:
    """Append ``events`` to ``stream`` if it is still at ``expected_version`` (0: a new stream).

    Raises ConcurrencyConflict when another writer got there first; nothing of the batch is written.
    """
    if not events:
        raise InvalidAppend("an append needs at least one event")
    if expected_version < 0:
        raise InvalidAppend("expected_version cannot be negative", expected_version=expected_version)
    encoded = [_encode(event) for event in events]
    meta = _check_metadata(metadata, [spec for spec, _, _ in encoded])
    # One clock reading as integer microseconds (what the hash covers) and the same instant as a datetime.
    micros = time_ns() // 1000
    now = EPOCH + timedelta(microseconds=micros)
    connection = connections[using]
    d = dialect_for(connection.vendor)
    batch = Batch(stream, expected_version, encoded, meta, d.db_datetime(connection, now), micros, metadata.tenant_id)

    def record(placed: list[tuple[int, str]]) -> list[RecordedEvent]:
        return [
            recorded_event(
                position,
                stream.type,
                stream.id,
                version,
                spec.wire_name,
                spec.version,
                payload,
                event,
                metadata,
                now,
                hash_,
            )
            for version, ((spec, payload, _), event, (position, hash_)) in enumerate(
                zip(encoded, events, placed, strict=True), expected_version + 1
            )
        ]

    if d.single_call and not connection.in_atomic_block and not projectors.any_handles(batch.wire_names):
        # Nothing else has to commit with these events: one statement is the whole transaction.
        recorded = record(d.append_rows(connection, batch))
    else:
        with transaction.atomic(using=using):
            recorded = record(d.append_rows(connection, batch))
            projectors.apply_sync(recorded)
    if _commit_listeners:
        _announce(recorded[-1].position, using)
    _count_appended([event.event_type for event in recorded], using)
    return recorded


def _count_appended(wire_names: list[str], using: str) -> None:
    """controlplane_events_appended_total, once the events are committed (a rolled-back append counts nothing)."""
    by_context = collections.Counter(instruments.event_context(name) for name in wire_names)

    def tell() -> None:
        for context, count in by_context.items():
            instruments.EVENTS_APPENDED.labels(context).inc(count)

    if connections[using].in_atomic_block:
        transaction.on_commit(tell, using=using)
    else:
        tell()


# Called with the highest position of an append once it has committed (at once when it already has).
# The live tailer's wake-up notice uses it (controlplane/live/commit_notices.py); a listener must be quick and
# must not raise: it runs on the appending thread, after the commit.
_commit_listeners: list[Callable[[int], None]] = []


def on_committed(listener: Callable[[int], None]) -> None:
    if listener not in _commit_listeners:
        _commit_listeners.append(listener)


def remove_commit_listener(listener: Callable[[int], None]) -> None:
    if listener in _commit_listeners:
        _commit_listeners.remove(listener)


def _announce(position: int, using: str) -> None:
    if not _commit_listeners:
        return  # nobody listens (no Redis wake-ups): no callback on the append's hot path

    def tell() -> None:
        for listener in list(_commit_listeners):
            listener(position)

    transaction.on_commit(tell, using=using)


def read_stream(stream_id: str, *, after_version: int = 0, using: str = "default") -> list[RecordedEvent]:
    """Every event of one stream after ``after_version``, in version order."""
    connection = connections[using]
    rows = dialect_for(connection.vendor).fetch(
        connection,
        f"SELECT {READ_COLUMNS} FROM eventlog_event WHERE stream_id = %s AND version > %s ORDER BY version",
        [stream_id, after_version],
    )
    return [from_row(row) for row in rows]


def stream_version(stream_id: str, *, using: str = "default") -> int:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT version FROM eventlog_stream WHERE stream_id = %s", [stream_id])
        row = cursor.fetchone()
    return row[0] if row else 0
