"""What the benchmarks write and read: one event type, fixed metadata, a bulk projector and an aggregate.

Imported only by benchmark processes (after ``django.setup()``), so the event type and the projector
never exist in the application or in the normal test run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections

from controlplane.eventlog.aggregates import AggregateSpec
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.projectors import UNKNOWN_SKIPPED, Projector
from controlplane.eventlog.records import RecordedEvent
from controlplane.eventlog.types import event_type

WIRE_NAME = "bench.something_happened"
STREAM_TYPE = "bench.subject"
TENANT = "t-bench"
READ_MODEL_TABLE = "bench_stream_totals"
SUBJECT = "subject-with-a-realistic-name-0123456789"


@event_type(WIRE_NAME)
@dataclass(frozen=True)
class SomethingHappened:
    seq: int  # the stream version this event was written at
    subject: str
    amount: int  # seq % 10: lets a check recompute every total from versions alone


def metadata() -> Metadata:
    return Metadata(tenant_id=TENANT, actor=Actor(kind="system", id="bench"))


def events_for(first_version: int, count: int) -> list[SomethingHappened]:
    """The events written at versions first_version .. first_version + count - 1 of a stream."""
    versions = range(first_version, first_version + count)
    return [SomethingHappened(seq=v, subject=SUBJECT, amount=v % 10) for v in versions]


def expected_amount(first_version: int, last_version: int) -> int:
    """Sum of ``amount`` over versions first..last (what the projector and the aggregate must arrive at)."""
    if last_version < first_version:
        return 0

    def upto(v: int) -> int:  # sum of i % 10 for i in 1..v
        return (v // 10) * 45 + sum(range(1, v % 10 + 1))

    return upto(last_version) - upto(first_version - 1)


# --- the read model of the rebuild benchmark: one row per stream, written in bulk per batch ----------


def create_read_model(using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {READ_MODEL_TABLE}")
        cursor.execute(
            f"CREATE TABLE {READ_MODEL_TABLE} (stream_id VARCHAR(100) NOT NULL PRIMARY KEY, "
            "events BIGINT NOT NULL, amount BIGINT NOT NULL, last_version BIGINT NOT NULL, "
            "last_position BIGINT NOT NULL)"
        )


def drop_read_model(using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {READ_MODEL_TABLE}")


class StreamTotalsProjector(Projector):
    """Per-stream totals. ``apply`` gets a whole batch (5,000 events during a rebuild), folds it in memory
    and writes one multi-row upsert per 500 streams, instead of one statement per event."""

    name = "bench.stream_totals"
    chunk = 500

    def __init__(self, using: str = "default") -> None:
        super().__init__()
        self.using = using
        self.statements = 0

    def reset(self) -> None:
        # DELETE, not TRUNCATE: TRUNCATE commits implicitly on MariaDB, and rebuild runs in one transaction.
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"DELETE FROM {READ_MODEL_TABLE}")

    def apply(self, events: Iterable[RecordedEvent]) -> None:
        totals: dict[str, list[int]] = {}
        for event in events:
            data = event.data
            if data is None:
                self.unknown_skipped += 1
                UNKNOWN_SKIPPED.labels(self.name).inc()
                continue
            if event.event_type != WIRE_NAME:
                continue
            row = totals.get(event.stream_id)
            if row is None:
                totals[event.stream_id] = [1, data.amount, event.version, event.position]
            else:
                row[0] += 1
                row[1] += data.amount
                row[2] = event.version
                row[3] = event.position
        if totals:
            self._upsert([(stream_id, *row) for stream_id, row in totals.items()])

    def _upsert(self, rows: list[tuple]) -> None:
        connection = connections[self.using]
        if connection.vendor == "mysql":
            tail = (
                " ON DUPLICATE KEY UPDATE events = events + VALUES(events), amount = amount + VALUES(amount), "
                "last_version = VALUES(last_version), last_position = VALUES(last_position)"
            )
        else:
            tail = (
                f" ON CONFLICT (stream_id) DO UPDATE SET events = {READ_MODEL_TABLE}.events + excluded.events, "
                f"amount = {READ_MODEL_TABLE}.amount + excluded.amount, "
                "last_version = excluded.last_version, last_position = excluded.last_position"
            )
        with connection.cursor() as cursor:
            for start in range(0, len(rows), self.chunk):
                part = rows[start : start + self.chunk]
                cursor.execute(
                    f"INSERT INTO {READ_MODEL_TABLE} (stream_id, events, amount, last_version, last_position) "
                    "VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(part)) + tail,
                    [value for row in part for value in row],
                )
                self.statements += 1


# --- the aggregate of the load benchmark ----------------------------------------------------------------


def _initial() -> dict[str, Any]:
    return {"events": 0, "amount": 0, "last_seq": 0}


def _evolve(state: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
    data = event.data
    return {"events": state["events"] + 1, "amount": state["amount"] + data.amount, "last_seq": data.seq}


def aggregate_spec(name: str, snapshot_every: int) -> AggregateSpec[dict[str, Any]]:
    return AggregateSpec(
        name=name,
        initial=_initial,
        evolve=_evolve,
        to_snapshot=dict,
        from_snapshot=dict,
        snapshot_every=snapshot_every,
    )
