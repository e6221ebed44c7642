"""Rebuilding read models from the log and verifying the hash chains."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, transaction

from controlplane.eventlog import projectors
from controlplane.eventlog.dialects import dialect_for
from controlplane.eventlog.hashing import GENESIS, event_hash, to_micros
from controlplane.eventlog.records import from_row

BATCH = 5000


def rebuild(names: list[str] | None = None, *, using: str = "default", batch: int = BATCH) -> dict[str, int]:
    """Empty the read models of the named (default: all) synchronous projectors and replay the log.

    Runs in one transaction that holds appenders off, so the rebuilt read models match the log exactly.
    Returns events applied per projector.
    """
    chosen = [p for p in projectors.sync_projectors() if names is None or p.name in names]
    unknown = set(names or ()) - {p.name for p in chosen}
    if unknown:
        raise ValueError(f"no projector named {', '.join(sorted(unknown))}")
    connection = connections[using]
    d = dialect_for(connection.vendor)
    applied = {p.name: 0 for p in chosen}
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            for statement in d.lock_appends_sql():
                cursor.execute(statement)
        for projector in chosen:
            projector.reset()
            projector.unknown_skipped = 0
        after = 0
        while True:
            rows = d.fetch(connection, d.read_after_sql(batch), [after])
            if not rows:
                break
            events = [from_row(row) for row in rows]
            for projector in chosen:
                projector.apply(events)
                applied[projector.name] += len(events)
            after = events[-1].position
    return applied


@dataclass(frozen=True)
class Break:
    position: int
    stream_id: str
    version: int
    reason: str

    def __str__(self) -> str:
        return f"event #{self.position} ({self.stream_id} version {self.version}): {self.reason}"


def verify(*, using: str = "default", batch: int = BATCH) -> tuple[int, Break | None]:
    """Walk every stream's hash chain in position order. Returns (events checked, first break or None)."""
    connection = connections[using]
    d = dialect_for(connection.vendor)
    last: dict[str, tuple[int, str]] = {}  # stream -> (version, hash)
    checked = 0
    after = 0
    while True:
        rows = d.fetch(connection, d.read_after_sql(batch), [after])
        if not rows:
            break
        for row in rows:
            (position, _stype, stream_id, version, event_type, schema_version, payload, *rest) = row
            meta, recorded_at, stored_hash = tuple(rest[:8]), rest[8], rest[9]
            prev_version, prev_hash = last.get(stream_id, (0, GENESIS))
            if version != prev_version + 1:
                return checked, Break(position, stream_id, version, f"expected version {prev_version + 1}")
            expected = event_hash(
                prev_hash, stream_id, version, event_type, schema_version, payload, meta, to_micros(recorded_at)
            )
            if expected != stored_hash:
                return checked, Break(position, stream_id, version, "hash does not match its content and chain")
            last[stream_id] = (version, stored_hash)
            checked += 1
        after = rows[-1][0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT stream_id, version, last_hash FROM eventlog_stream")
        for stream_id, version, last_hash in cursor.fetchall():
            if last.get(stream_id) != (version, last_hash):
                seen = last.get(stream_id, (0, GENESIS))
                return checked, Break(0, stream_id, seen[0], "stream head does not match its last event")
    return checked, None
