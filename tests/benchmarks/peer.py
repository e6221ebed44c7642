"""The peer baseline: the same shapes as our benchmarks, run through pyeventsourcing (PyPI ``eventsourcing``).

A user choosing a Python event store would compare us with ``eventsourcing``'s application recorders
(``SQLiteApplicationRecorder``, ``PostgresApplicationRecorder``): one table of stored events with a unique
(originator_id, originator_version) and a global notification id. We drive them through their public
recorder API, ``insert_events([StoredEvent, ...])`` and ``select_notifications(start, limit)``, with each
event's state encoded by the peer's own ``JSONTranscoder`` (what its ``Mapper`` does for an Application).
docs/BENCHMARKS.md ("The peer baseline") says what each side does per event.

Rounds alternate ours / peer inside one suite process (``compare``), so both sides see the same machine;
the entry's figure is the ratio of the medians, ours ÷ peer (above 1: we are faster).

``eventsourcing`` is a benchmark-only dependency (the ``bench`` dependency group in pyproject.toml).
"""

from __future__ import annotations

import statistics
import uuid
from array import array
from pathlib import Path
from typing import Any

from tests.benchmarks.procs import Channels, WriterJob, _setup_django, timed_writer

PEER_TABLE = "peer_stored_events"
TOPIC = "tests.benchmarks.domain:SomethingHappened"
NAMESPACE = uuid.UUID("6f1c1c52-0f4e-4f57-9f40-7d4a1e2a9b10")


def installed() -> bool:
    try:
        import eventsourcing.persistence  # noqa: F401
    except ImportError:
        return False
    return True


def recorder(create: bool = False) -> Any:
    """The peer's application recorder on the database Django is configured for (a sibling file on SQLite)."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

        path = Path(str(settings["NAME"])).with_name("peer.sqlite3")
        # One connection: one writer process, and the PRAGMA below must hold for the connection that commits.
        datastore = SQLiteDatastore(str(path), pool_size=1, max_overflow=0, originator_id_type="uuid")
        conn = datastore.pool.get_connection(is_writer=True)
        try:
            # The peer opens WAL itself; synchronous=FULL as on our side (its default build setting, made explicit).
            conn._sqlite_conn.execute("PRAGMA synchronous=FULL")
        finally:
            datastore.pool.put_connection(conn)
        rec = SQLiteApplicationRecorder(datastore, events_table_name=PEER_TABLE)
    elif connection.vendor == "postgresql":
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        datastore = PostgresDatastore(
            dbname=settings["NAME"],
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            password=settings["PASSWORD"] or "",
            pool_size=1,
        )
        rec = PostgresApplicationRecorder(datastore, events_table_name=PEER_TABLE)
    else:
        raise RuntimeError(f"no peer recorder for {connection.vendor}")
    if create:
        rec.create_table()
    return rec


def durability(rec: Any) -> tuple[bool, str]:
    """The peer's connection commits durably: WAL + synchronous=FULL, or fsync + synchronous_commit."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if isinstance(rec, SQLiteApplicationRecorder):
        conn = rec.datastore.pool.get_connection(is_writer=True)
        try:
            journal = conn._sqlite_conn.execute("PRAGMA journal_mode").fetchone()[0]
            sync = conn._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0]
        finally:
            rec.datastore.pool.put_connection(conn)
        return journal == "wal" and sync == 2, f"peer journal_mode={journal}, synchronous={sync} (2 = FULL)"
    with rec.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT current_setting('fsync') AS f, current_setting('synchronous_commit') AS s")
        row = curs.fetchone()
    return row["f"] == "on" and row["s"] == "on", f"peer fsync={row['f']}, synchronous_commit={row['s']}"


def _position_column(rec: Any) -> str:
    return "notification_id" if type(rec).__module__ == "eventsourcing.postgres" else "rowid"


def _query(rec: Any, sql: str, params: tuple = ()) -> list[tuple]:
    with rec.datastore.transaction(commit=False) as curs:
        curs.execute(sql, params)
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in curs.fetchall()]


def max_position(rec: Any) -> int:
    col = _position_column(rec)
    return int(_query(rec, f"SELECT COALESCE(MAX({col}), 0) FROM {PEER_TABLE}")[0][0])


def stream_uuid(stream_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, stream_id)


class Encoder:
    """What the peer stores per event: the event's fields and our metadata, in one state document encoded by
    the peer's JSONTranscoder (its Application's default), under one topic."""

    def __init__(self) -> None:
        from eventsourcing.persistence import JSONTranscoder, StoredEvent

        from tests.benchmarks import domain

        self.transcoder = JSONTranscoder()
        self.stored_event = StoredEvent
        meta = domain.metadata()
        self.metadata = {"tenant_id": meta.tenant_id, "actor": {"kind": meta.actor.kind, "id": meta.actor.id}}

    def stored(self, originator: uuid.UUID, events: list[Any]) -> list[Any]:
        encode, metadata, make = self.transcoder.encode, self.metadata, self.stored_event
        return [
            make(
                originator_id=originator,
                originator_version=e.seq,
                topic=TOPIC,
                state=encode({**e.__dict__, "metadata": metadata}),
            )
            for e in events
        ]


def peer_writer_main(job: WriterJob, ch: Channels) -> None:
    import traceback

    try:
        _peer_writer(job, ch)
    except BaseException:  # the parent is waiting for us
        ch.ready.put(("error", "writer", job.index, traceback.format_exc()))
        ch.results.put(("writer", job.index, {"error": traceback.format_exc()}))


def _backend_pid(rec: Any) -> int | None:
    from eventsourcing.postgres import PostgresApplicationRecorder

    if not isinstance(rec, PostgresApplicationRecorder):
        return None
    with rec.datastore.transaction(commit=False) as curs:  # pool_size=1: the connection every insert uses
        curs.execute("SELECT pg_backend_pid() AS pid")
        return int(curs.fetchone()["pid"])


def _peer_writer(job: WriterJob, ch: Channels) -> None:
    """The peer's side of procs.writer_main: the same loop (procs.timed_writer), insert_events instead of append."""
    _setup_django()
    rec = recorder()
    encoder = Encoder()
    originator = stream_uuid(job.stream_id)

    def append_at(version: int, events: list) -> list[int]:
        return rec.insert_events(encoder.stored(originator, events))

    timed_writer(job, ch, append_at, lambda: _backend_pid(rec))


def check_peer_writes(rec: Any, writers: list[dict[str, Any]], start_position: int) -> list[tuple[str, bool, str]]:
    """The peer's rows during the run are exactly the acknowledged ones, each stream's versions contiguous."""
    col = _position_column(rec)
    acked: set[int] = set()
    count = 0
    for result in writers:
        ids = array("q")
        ids.frombytes(result["positions"])
        acked.update(ids)
        count += len(ids)
    table = {int(r[0]) for r in _query(rec, f"SELECT {col} FROM {PEER_TABLE} WHERE {col} > {int(start_position)}")}
    out = [
        (
            "peer: table rows equal acknowledged events",
            table == acked and len(acked) == count,
            f"{len(table)} rows, {count} acknowledged",
        )
    ]
    bad = []
    placeholder = "%s" if col == "notification_id" else "?"
    for result in writers:
        originator = stream_uuid(result["stream_id"])
        key = originator if col == "notification_id" else originator.hex
        low, high, n = _query(
            rec,
            f"SELECT MIN(originator_version), MAX(originator_version), COUNT(*) FROM {PEER_TABLE} "
            f"WHERE originator_id = {placeholder}",
            (key,),
        )[0]
        if (low, high, n) != (1, result["final_version"], result["final_version"]):
            bad.append(f"{result['stream_id']}: {n} rows, {low}..{high}")
    out.append(("peer: every stream holds versions 1..last acknowledged", not bad, "; ".join(bad[:5])))
    return out


class PeerReader:
    """``select_notifications`` after a notification id, each state decoded by the transcoder (what the
    peer's ``Mapper`` starts from): the peer's side of ``GlobalReader(decode=True).poll``."""

    def __init__(self, rec: Any) -> None:
        self.rec = rec
        self.decode = Encoder().transcoder.decode

    def poll(self, after: int, limit: int) -> list[tuple[int, Any]]:
        notes = self.rec.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        decode = self.decode
        return [(note.id, decode(note.state)) for note in notes]


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
