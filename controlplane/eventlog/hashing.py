"""The hash chain: each event's hash covers its predecessor's hash in the stream and all its own fields."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

GENESIS = ""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_aware(moment: datetime | str) -> datetime:
    """Recorded time as an aware UTC datetime, however the driver handed it back."""
    if isinstance(moment, str):  # SQLite through a raw cursor
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # MySQL and SQLite hand back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment


def to_micros(moment: datetime | str) -> int:
    """Recorded time as integer microseconds since the epoch."""
    moment = to_aware(moment)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def event_hash(
    prev_hash: str,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    payload: str,
    meta: tuple,
    recorded_micros: int,
) -> str:
    """sha256 over the fields joined by the unit separator; ``meta`` is the metadata columns in order."""
    parts = [prev_hash, stream_id, str(version), event_type, str(schema_version), payload]
    parts.extend("" if m is None else str(m) for m in meta)
    parts.append(str(recorded_micros))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
