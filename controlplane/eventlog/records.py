"""Events as read back from the log."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from controlplane.eventlog import types
from controlplane.eventlog.hashing import to_aware
from controlplane.eventlog.metadata import Actor, Metadata


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int  # as stored; ``data`` is already upcast to the current version
    payload: dict[str, Any]
    data: object | None  # None: a type this release does not know (written by a newer one)
    metadata: Metadata
    recorded_at: datetime
    hash: str


_metadata_cache: dict[tuple, Metadata] = {}


def _metadata(key: tuple) -> Metadata:
    # Events of one request or one batch share their metadata: build it once (it is immutable).
    found = _metadata_cache.get(key)
    if found is None:
        tenant_id, workspace_id, actor_kind, actor_id, request_id, correlation_id, causation_id, client_address = key
        found = Metadata(
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            actor=Actor(kind=actor_kind, id=actor_id),
            request_id=request_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            client_address=client_address,
        )
        if len(_metadata_cache) >= 4096:
            _metadata_cache.clear()
        _metadata_cache[key] = found
    return found


_new = object.__new__
_set = object.__setattr__


def recorded_event(
    position: int,
    stream_type: str,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    payload: dict[str, Any],
    data: object | None,
    metadata: Metadata,
    recorded_at: datetime,
    hash_: str,
) -> RecordedEvent:
    """RecordedEvent(...) without the frozen dataclass's eleven setattr calls (the read path's hot spot)."""
    event = _new(RecordedEvent)
    _set(
        event,
        "__dict__",
        {
            "position": position,
            "stream_type": stream_type,
            "stream_id": stream_id,
            "version": version,
            "event_type": event_type,
            "schema_version": schema_version,
            "payload": payload,
            "data": data,
            "metadata": metadata,
            "recorded_at": recorded_at,
            "hash": hash_,
        },
    )
    return event


# The last recorded_at text parsed and its datetime, as one tuple: a reader on another thread (the live tailer)
# sees the old pair or the new one, never a text with another's datetime.
_last_parsed: tuple[str, datetime] | None = None


def _recorded_at_from_text(text: str) -> datetime:
    # SQLite hands back text (dialects.SQLITE_READ_COLUMNS); the events of one append share their instant,
    # so the last one parsed is usually the next one asked for. Datetimes are immutable: sharing is safe.
    global _last_parsed
    last = _last_parsed
    if last is not None and last[0] == text:
        return last[1]
    moment = to_aware(text)
    _last_parsed = (text, moment)
    return moment


def from_row(row: tuple | list) -> RecordedEvent:
    """A row in READ_COLUMNS order -> RecordedEvent (decoded, upcast)."""
    payload = orjson.loads(row[6])  # 4x faster than json on the catch-up path
    recorded_at = row[15]
    if recorded_at.__class__ is str:
        recorded_at = _recorded_at_from_text(recorded_at)
    elif recorded_at.__class__ is not datetime or recorded_at.tzinfo is None:
        recorded_at = to_aware(recorded_at)
    return recorded_event(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        payload,
        types.decode(row[4], row[5], payload),
        _metadata(tuple(row[7:15])),
        recorded_at,
        row[16],
    )


def decode_rows(rows: list[tuple]) -> list[RecordedEvent]:
    """Rows -> RecordedEvents, with the cyclic collector paused meanwhile: a batch allocates a few objects per
    row, none of them cyclic, and the collections they would trigger scan the whole heap of the process (about
    40 % of a catch-up's CPU, docs/BENCHMARKS.md). Paused, not skipped: it runs at the next allocation after."""
    if not gc.isenabled():
        return [from_row(row) for row in rows]
    gc.disable()
    try:
        return [from_row(row) for row in rows]
    finally:
        gc.enable()
