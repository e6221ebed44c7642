"""Rebuilding read models from the log and verifying the hash chains."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, transaction

from controlplane.eventlog import projectors
from controlplane.eventlog.dialects import dialect_for
from controlplane.eventlog.errors import RebuildRefused
from controlplane.eventlog.hashing import GENESIS, event_hash, to_micros
from controlplane.eventlog.inplace import Changes, Shadows
from controlplane.eventlog.records import decode_rows

BATCH = 5000

__all__ = ["BATCH", "Break", "Changes", "RebuildRefused", "rebuild", "verify"]


def rebuild(
    names: list[str] | None = None,
    *,
    using: str = "default",
    batch: int = BATCH,
    changes: dict[str, Changes] | None = None,
) -> dict[str, int]:
    """Rebuild the read models of the named (default: all) synchronous projectors from the log, in place.

    Runs in one transaction that holds appenders off, so the rebuilt read models match the log exactly. The
    log is replayed into empty shadow tables, which are then merged into the read models: only rows that
    differ are written, surviving rows keep their primary keys, nothing cascades (``inplace``, ADR 0016).
    Returns events applied per projector; ``changes``, when given, receives rows inserted, updated and
    deleted per table.
    """
    chosen = [p for p in projectors.sync_projectors() if names is None or p.name in names]
    unknown = set(names or ()) - {p.name for p in chosen}
    if unknown:
        raise ValueError(f"no projector named {', '.join(sorted(unknown))}")
    connection = connections[using]
    d = dialect_for(connection.vendor)
    applied = {p.name: 0 for p in chosen}
    read_models = list(dict.fromkeys(model for p in chosen for model in p.read_models))
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            for statement in d.lock_appends_sql():
                cursor.execute(statement)
        shadows = Shadows(connection, read_models)
        shadows.create()
        with connection.execute_wrapper(shadows.redirect):
            for projector in chosen:
                projector.reset()
                projector.unknown_skipped = 0
            after = 0
            while True:
                rows = d.fetch(connection, d.read_after_sql(batch), [after])
                if not rows:
                    break
                events = decode_rows(rows)
                for projector in chosen:
                    projector.apply(events)
                    applied[projector.name] += len(events)
                after = events[-1].position
        merged = shadows.merge()
        shadows.drop()
    if changes is not None:
        changes.update(merged)
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
