"""What differs between databases in the event log, and nothing else.

Global order (docs/adr/0002-global-order.md):
- PostgreSQL: positions come from a sequence, so transactions may commit out of position order. Each
  writer takes its transaction id *before* it draws a position (``eventlog_next_position()``), so a
  reader that sees position q but not a lower p knows p's writer is in its snapshot's in-progress list
  (or aborted). The reader holds back everything past such a gap until those transactions finish:
  a visibility watermark, with no lock held across commit.
- MariaDB/MySQL and Oracle: positions are drawn from a one-row counter locked until commit, so they
  are handed out in commit order and every visible prefix is complete.
- SQLite: one writer at a time (BEGIN IMMEDIATE), so the same holds by construction.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from django.db import DatabaseError

from controlplane.eventlog.errors import ConcurrencyConflict, InvalidAppend
from controlplane.eventlog.hashing import GENESIS

EVENT_COLUMNS = (
    "stream_type, stream_id, version, event_type, schema_version, payload, tenant_id, workspace_id, "
    "actor_kind, actor_id, request_id, correlation_id, causation_id, client_address, recorded_at, hash"
)
EVENT_PARAMS = 16
READ_COLUMNS = (
    "position, stream_type, stream_id, version, event_type, schema_version, payload, tenant_id, workspace_id, "
    "actor_kind, actor_id, request_id, correlation_id, causation_id, client_address, recorded_at, hash"
)


HEAD_COLUMNS = "stream_id, stream_type, version, last_hash, tenant_id"


# --- PostgreSQL: the append as one plain SQL statement (PostgresDialect._append_known_head) ---------------
# The head moves only if it is exactly as the caller's hash chain assumed (a compare-and-set under the
# row lock that UPDATE takes); the events are inserted only if it did ("FROM head"). Each position is
# drawn after pg_current_xact_id(), so the transaction holds an id before it holds a position (ADR 0002;
# CASE evaluates its condition first). ORDER BY makes positions follow versions: volatile expressions of
# the select list are evaluated after the sort. Arrays go in binary (%b): psycopg's text format escapes
# every element with a regular expression, which cost about half the client CPU of a 100-event append.
MAX_REMEMBERED_HEADS = 50_000
_heads: dict[tuple[str, str], dict[int, str]] = {}  # (alias, stream id) -> {version: last hash} seen here
PG_META_NAMES = ("tenant", "ws", "ak", "aid", "rid", "cid", "caus", "addr")
_PG_META = (
    "%(tenant)s::text, %(ws)s::text, %(ak)s::text, %(aid)s::text, %(rid)s::text, %(cid)s::text, "
    "%(caus)s::text, %(addr)s::text"
)
_PG_POSITION = "CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('eventlog_event_position_seq') END"
_PG_MOVE_HEAD = (
    "WITH head AS (UPDATE eventlog_stream SET version = %(last)s::int, last_hash = %(h)s::text "
    "WHERE stream_id = %(sid)s::text AND version = %(exp)s::int AND last_hash = %(prev)s::text "
    "AND stream_type = %(st)s::text RETURNING 1) "
)
_PG_NEW_HEAD = (
    "WITH head AS (INSERT INTO eventlog_stream (stream_id, stream_type, version, last_hash, tenant_id) "
    "VALUES (%(sid)s::text, %(st)s::text, %(last)s::int, %(h)s::text, %(tenant)s::text) "
    "ON CONFLICT (stream_id) DO NOTHING RETURNING 1) "
)
_PG_INSERT_ONE = (
    f"INSERT INTO eventlog_event (position, {EVENT_COLUMNS}) "
    f"SELECT {_PG_POSITION}, %(st)s::text, %(sid)s::text, %(last)s::int, %(et)s::text, %(sv)s::int, "
    f"%(p)s::text, {_PG_META}, %(at)s::timestamptz, %(h)s::text FROM head RETURNING version, position"
)
_PG_INSERT_MANY = (
    f"INSERT INTO eventlog_event (position, {EVENT_COLUMNS}) "
    f"SELECT {_PG_POSITION}, %(st)s::text, %(sid)s::text, %(exp)s::int + u.i::int, u.et, u.sv, u.p, "
    f"{_PG_META}, %(at)s::timestamptz, u.h "
    "FROM head, unnest(%(ets)b::text[], %(svs)b::int[], %(ps)b::text[], %(hs)b::text[]) WITH ORDINALITY "
    "AS u(et, sv, p, h, i) ORDER BY u.i RETURNING version, position"
)
PG_APPEND_ONE = _PG_MOVE_HEAD + _PG_INSERT_ONE
PG_APPEND_ONE_NEW = _PG_NEW_HEAD + _PG_INSERT_ONE
PG_APPEND_MANY = _PG_MOVE_HEAD + _PG_INSERT_MANY
PG_APPEND_MANY_NEW = _PG_NEW_HEAD + _PG_INSERT_MANY

# --- SQLite: statements on the driver's connection (qmark placeholders) -----------------------------------
# No head rows here (migration 0004): one writer holds the database's lock at a time, so a stream's head is its
# last event. An append after a head this process remembers is one INSERT guarded by "the event at the expected
# version is still the one remembered" (the unique (stream_id, version) refuses a second writer's version), a
# transaction of its own; otherwise the head is read under the write lock first.
SQLITE_ROW = "(" + ", ".join(["?"] * EVENT_PARAMS) + ")"
SQLITE_LAST_EVENT = (
    "SELECT version, hash, stream_type FROM eventlog_event WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
)
SQLITE_INSERT = f"INSERT INTO eventlog_event ({EVENT_COLUMNS}) "
_SQLITE_GUARD = (
    " WHERE EXISTS (SELECT 1 FROM eventlog_event WHERE stream_id = ? AND version = ? AND hash = ? AND stream_type = ?)"
)
SQLITE_INSERT_ONE = SQLITE_INSERT + "VALUES " + SQLITE_ROW
SQLITE_INSERT_ONE_GUARDED = SQLITE_INSERT + "SELECT " + SQLITE_ROW[1:-1] + _SQLITE_GUARD
SQLITE_UNIQUE_VERSION = "eventlog_event.stream_id, eventlog_event.version"
SQLITE_OWN_VALUES = "(?, ?, ?, ?, ?)"  # version, event type, schema version, payload, hash
SQLITE_INSERT_MANY = (
    SQLITE_INSERT + "SELECT ?, ?, column1, column2, column3, column4, ?, ?, ?, ?, ?, ?, ?, ?, ?, column5 FROM (VALUES "
)
# Reads hand recorded_at back as its stored text: as a bare column it would go through Django's "datetime"
# converter (parse_datetime, then a naive datetime made aware again), the largest cost per row of a catch-up.
# records.from_row parses the text, once per distinct value (a batch shares one).
SQLITE_READ_COLUMNS = READ_COLUMNS.replace("recorded_at,", "CAST(recorded_at AS TEXT) AS recorded_at,")
_sqlite_sql: dict[str, str] = {}  # Django's placeholders -> the driver's, per statement text


_meta_texts: dict[tuple, str] = {}  # metadata columns -> their part of the hashed text (one per request, reused)


@dataclass(slots=True)
class Batch:
    """What one append writes: events after ``expected_version`` of one stream, with shared metadata."""

    stream: Any  # store.StreamRef
    expected_version: int
    encoded: list[tuple[Any, dict, str]]  # (EventSpec, payload, payload JSON text)
    meta: tuple  # the eight metadata columns
    recorded_at: Any  # as the driver wants it
    recorded_micros: int  # the same instant, for the hash
    tenant_id: str | None

    @property
    def last_version(self) -> int:
        return self.expected_version + len(self.encoded)

    @property
    def wire_names(self) -> set[str]:
        return {spec.wire_name for spec, _, _ in self.encoded}

    def chain(self, prev_hash: str) -> list[str]:
        """Exactly ``hashing.event_hash`` per event, with the parts every event of the batch shares joined once."""
        meta_text = _meta_texts.get(self.meta)
        if meta_text is None:
            meta_text = "\x1f".join(["" if m is None else str(m) for m in self.meta])
            if len(_meta_texts) >= 1024:
                _meta_texts.clear()
            _meta_texts[self.meta] = meta_text
        tail = f"{meta_text}\x1f{self.recorded_micros}"
        stream_id = self.stream.id
        hashes = []
        for version, (spec, _, text) in enumerate(self.encoded, self.expected_version + 1):
            prev_hash = sha256(
                f"{prev_hash}\x1f{stream_id}\x1f{version}\x1f{spec.wire_name}\x1f{spec.version}\x1f{text}\x1f{tail}".encode()
            ).hexdigest()
            hashes.append(prev_hash)
        return hashes

    def rows(self, hashes: list[str]) -> list[tuple]:
        """One tuple per event in EVENT_COLUMNS order."""
        return [
            (
                self.stream.type,
                self.stream.id,
                self.expected_version + i + 1,
                spec.wire_name,
                spec.version,
                text,
                *self.meta,
                self.recorded_at,
                hashes[i],
            )
            for i, (spec, _, text) in enumerate(self.encoded)
        ]

    def conflict(self, actual: int | None) -> ConcurrencyConflict:
        if actual is None:
            return ConcurrencyConflict(
                f"stream {self.stream.id} already exists", stream_id=self.stream.id, expected_version=0
            )
        return ConcurrencyConflict(
            f"stream {self.stream.id} is at version {actual}, not {self.expected_version}",
            stream_id=self.stream.id,
            expected_version=self.expected_version,
            actual_version=actual,
        )


@dataclass
class Dialect:
    vendor: str
    lock_suffix: str = " FOR UPDATE"
    counter_positions: bool = False  # positions from eventlog_position_counter (commit order)
    single_call: bool = False  # the whole append is one statement (may run as its own transaction)

    def db_datetime(self, connection: Any, moment: datetime) -> Any:
        """An aware UTC datetime as this driver stores it in recorded_at."""
        return connection.ops.adapt_datetimefield_value(moment)

    def fetch(self, connection: Any, sql: str, params: list) -> list[tuple]:
        """Rows of a read on the event log's tables (the hot reads: global order, streams, rebuild)."""
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def append_rows(self, connection: Any, batch: Batch) -> list[tuple[int, str]]:
        """Check and move the stream head, insert the events: (position, hash) per event. Inside a transaction."""
        with connection.cursor() as cursor:
            if batch.expected_version == 0:
                prev_hash = GENESIS
            else:
                cursor.execute(
                    "SELECT version, last_hash, stream_type FROM eventlog_stream WHERE stream_id = %s"
                    + self.lock_suffix,
                    [batch.stream.id],
                )
                head = cursor.fetchone()
                if head is None or head[0] != batch.expected_version:
                    raise batch.conflict(head[0] if head else 0)
                if head[2] != batch.stream.type:
                    raise InvalidAppend(
                        f"stream {batch.stream.id} is a {head[2]}, not a {batch.stream.type}", stream_id=batch.stream.id
                    )
                prev_hash = head[1]
            hashes = batch.chain(prev_hash)
            if batch.expected_version == 0:
                cursor.execute(
                    self.insert_head_sql(),
                    [batch.stream.id, batch.stream.type, batch.last_version, hashes[-1], batch.tenant_id],
                )
                if cursor.rowcount != 1:
                    raise batch.conflict(None)
            else:
                cursor.execute(
                    "UPDATE eventlog_stream SET version = %s, last_hash = %s WHERE stream_id = %s",
                    [batch.last_version, hashes[-1], batch.stream.id],
                )
            rows = batch.rows(hashes)
            if self.counter_positions:
                positions = self._insert_counted(cursor, rows)
            else:
                placeholders = "(" + ", ".join(["%s"] * EVENT_PARAMS) + ")"
                cursor.execute(
                    f"INSERT INTO eventlog_event ({EVENT_COLUMNS}) VALUES "
                    + ", ".join([placeholders] * len(rows))
                    + " RETURNING version, position",
                    [value for row in rows for value in row],
                )
                by_version = dict(cursor.fetchall())
                positions = [by_version[row[2]] for row in rows]
        return list(zip(positions, hashes, strict=True))

    def _insert_counted(self, cursor: Any, rows: list[tuple]) -> list[int]:
        """Positions from the counter row, locked until commit: handed out in commit order (ADR 0002)."""
        cursor.execute("SELECT last_position FROM eventlog_position_counter WHERE id = 1" + self.lock_suffix)
        found = cursor.fetchone()
        if found is None:
            # The row is created by the migration; a test flush may have emptied the table.
            cursor.execute(
                "INSERT INTO eventlog_position_counter (id, last_position) "
                "SELECT 1, COALESCE(MAX(position), 0) FROM eventlog_event"
            )
            cursor.execute("SELECT last_position FROM eventlog_position_counter WHERE id = 1" + self.lock_suffix)
            found = cursor.fetchone()
        first, last = found[0] + 1, found[0] + len(rows)
        cursor.execute("UPDATE eventlog_position_counter SET last_position = %s WHERE id = 1", [last])
        explicit = "(" + ", ".join(["%s"] * (EVENT_PARAMS + 1)) + ")"
        cursor.execute(
            f"INSERT INTO eventlog_event (position, {EVENT_COLUMNS}) VALUES " + ", ".join([explicit] * len(rows)),
            [value for i, row in enumerate(rows) for value in (first + i, *row)],
        )
        return list(range(first, last + 1))

    def insert_head_sql(self) -> str:
        return (
            "INSERT INTO eventlog_stream (stream_id, stream_type, version, last_hash, tenant_id) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stream_id) DO NOTHING"
        )

    def limit(self, sql: str, limit: int) -> str:
        return f"{sql} LIMIT {int(limit)}"

    def read_after_sql(self, limit: int) -> str:
        return self.limit(f"SELECT {READ_COLUMNS} FROM eventlog_event WHERE position > %s ORDER BY position", limit)

    def lock_appends_sql(self) -> list[str]:
        """Statements that hold off every appender until the transaction ends (rebuild, verification)."""
        return []


@dataclass
class PostgresDialect(Dialect):
    vendor: str = "postgresql"
    single_call: bool = True

    def cursor(self, connection: Any) -> AbstractContextManager:
        # Server-side binding (psycopg's plain Cursor, not Django's client-side one): the hot statements
        # get prepared after a few runs instead of being parsed and planned every time.
        import psycopg

        connection.ensure_connection()
        return psycopg.Cursor(connection.connection)

    def fetch(self, connection: Any, sql: str, params: list, binary: bool = True) -> list[tuple]:
        # Binary results: integers and timestamps arrive without text parsing (about 3x cheaper per row).
        # Errors come out as Django's (the driver's one is their __cause__), as from every other query.
        with connection.wrap_database_errors, self.cursor(connection) as cursor:
            cursor.execute(sql, params, binary=binary)
            return cursor.fetchall()

    def append_rows(self, connection: Any, batch: Batch) -> list[tuple[int, str]]:
        """One statement: a compare-and-set of the stream head plus the insert, hashes computed here.

        The hash chain needs the head's last hash. For a new stream it is GENESIS; for a stream this process
        appended to last, it is remembered in ``_heads``. Then one plain SQL statement moves the head only
        if it still holds that (version, hash, type), and inserts the events only if it did. If not (another
        writer moved it, or nothing is remembered), ``eventlog_append()`` (migration 0003) does the whole
        append on the server and raises the conflict if there is one. Either way the statement takes a
        transaction id before any position (ADR 0002).
        """
        key = (connection.alias, batch.stream.id)
        prev = GENESIS if batch.expected_version == 0 else _heads.get(key, {}).get(batch.expected_version)
        placed = None
        if prev is not None:
            hashes = batch.chain(prev)
            placed = self._append_known_head(connection, batch, prev, hashes)
            if placed is None and batch.expected_version == 0:
                raise batch.conflict(None)
        if placed is None:
            placed = self._append_on_server(connection, batch)
        if len(_heads) > MAX_REMEMBERED_HEADS:
            _heads.clear()
        _heads[key] = {batch.last_version: placed[-1][1]}
        return placed

    def _append_known_head(
        self, connection: Any, batch: Batch, prev: str, hashes: list[str]
    ) -> list[tuple[int, str]] | None:
        """None when the head was not as remembered: nothing was written."""
        params: dict[str, Any] = dict(
            zip(PG_META_NAMES, batch.meta, strict=True),
            sid=batch.stream.id,
            st=batch.stream.type,
            exp=batch.expected_version,
            last=batch.last_version,
            h=hashes[-1],
            at=batch.recorded_at,
        )
        if batch.expected_version:
            params["prev"] = prev
        if len(batch.encoded) == 1:
            spec, _, text = batch.encoded[0]
            params.update(et=spec.wire_name, sv=spec.version, p=text)
            sql = PG_APPEND_ONE_NEW if batch.expected_version == 0 else PG_APPEND_ONE
        else:
            params.update(
                ets=[spec.wire_name for spec, _, _ in batch.encoded],
                svs=[spec.version for spec, _, _ in batch.encoded],
                ps=[text for _, _, text in batch.encoded],
                hs=hashes,
            )
            sql = PG_APPEND_MANY_NEW if batch.expected_version == 0 else PG_APPEND_MANY
        rows = self.fetch(connection, sql, params)
        if not rows:
            return None
        if len(rows) != len(hashes):  # cannot happen: the head's version guards the stream's versions
            raise RuntimeError(f"append to {batch.stream.id} inserted {len(rows)} of {len(hashes)} events")
        rows.sort()
        return [(position, hashes[i]) for i, (_, position) in enumerate(rows)]

    def _append_on_server(self, connection: Any, batch: Batch) -> list[tuple[int, str]]:
        """One call of ``eventlog_append()`` (migration 0003): head check, hash chain and insert on the server."""
        import psycopg

        try:
            rows = self.fetch(
                connection,
                "SELECT out_position, out_hash FROM eventlog_append("
                "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %b::text[], %b::int[], %b::text[])",
                [
                    batch.stream.id,
                    batch.stream.type,
                    batch.expected_version,
                    *batch.meta,
                    batch.recorded_at,
                    batch.recorded_micros,
                    [spec.wire_name for spec, _, _ in batch.encoded],
                    [spec.version for spec, _, _ in batch.encoded],
                    [text for _, _, text in batch.encoded],
                ],
                binary=False,
            )
        except DatabaseError as wrapped:
            exc = wrapped.__cause__
            if not isinstance(exc, psycopg.Error):
                raise
            if exc.sqlstate == "EL409":
                actual = int(exc.diag.message_detail or "-1")
                raise batch.conflict(None if actual < 0 else actual) from None
            if exc.sqlstate == "EL400":
                raise InvalidAppend(
                    exc.diag.message_primary or "stream type mismatch", stream_id=batch.stream.id
                ) from None
            raise
        return [(position, hash_) for position, hash_ in rows]

    def snapshot_read_sql(self, limit: int, fresh_xid: bool = False) -> str:
        """Rows after %(after)s with the snapshot they were read in (one statement, so one snapshot).

        With ``fresh_xid`` (the reader is not inside a transaction) the statement also takes a transaction id
        when the reader will need one (reader.py): when the rows above %(base)s (the reader's safe horizon)
        are not a contiguous run, and their highest position is above %(covered)s (the highest one a pending
        horizon already waits for). The id is taken after the statement's snapshot and its transaction
        ends with the statement, which is all the watermark asks of it (ADR 0002); it saves a round trip.
        """
        if fresh_xid:
            fresh = (
                "CASE WHEN g.hi > %(base)s AND g.hi - %(base)s <> g.above AND g.hi > %(covered)s "
                "THEN pg_current_xact_id()::text END"
            )
        else:
            fresh = "NULL::text"
        return (
            f"WITH e AS MATERIALIZED (SELECT {READ_COLUMNS} FROM eventlog_event WHERE position > %(after)s "
            f"ORDER BY position LIMIT {int(limit)}), "
            "g AS (SELECT max(position) AS hi, count(*) FILTER (WHERE position > %(base)s) AS above FROM e), "
            "s AS (SELECT pg_current_snapshot()::text AS snap, pg_current_xact_id_if_assigned()::text AS me, "
            f"{fresh} AS fresh FROM g) "
            "SELECT s.snap, s.me, s.fresh, e.* FROM s LEFT JOIN LATERAL (SELECT * FROM e) e ON TRUE"
        )

    def lock_appends_sql(self) -> list[str]:
        return ["LOCK TABLE eventlog_stream IN SHARE ROW EXCLUSIVE MODE"]


@dataclass
class SQLiteDialect(Dialect):
    vendor: str = "sqlite"
    lock_suffix: str = ""  # BEGIN IMMEDIATE already holds the database's write lock
    single_call: bool = True  # append_rows runs its own BEGIN IMMEDIATE ... COMMIT when nothing else is open

    def fetch(self, connection: Any, sql: str, params: list) -> list[tuple]:
        """On the driver's connection: no Django cursor wrapper, placeholders rewritten once per statement."""
        raw_sql = _sqlite_sql.get(sql)
        if raw_sql is None:
            raw_sql = sql.replace(READ_COLUMNS, SQLITE_READ_COLUMNS).replace("%s", "?").replace("%%", "%")
            if len(_sqlite_sql) < 1000:  # the hot statements are a handful; never grow without bound
                _sqlite_sql[sql] = raw_sql
        connection.ensure_connection()
        with connection.wrap_database_errors:
            return connection.connection.execute(raw_sql, params).fetchall()

    def db_datetime(self, connection: Any, moment: datetime) -> Any:
        # What Django's adapt_datetimefield_value gives for a UTC connection (naive UTC, str()), without its checks.
        if connection.timezone is UTC:
            return str(moment.replace(tzinfo=None))
        return connection.ops.adapt_datetimefield_value(moment)

    def append_rows(self, connection: Any, batch: Batch) -> list[tuple[int, str]]:
        """On the driver's connection (no Django cursor wrapper, no placeholder rewriting).

        After a remembered head: one guarded INSERT. Otherwise, outside a transaction, its own: BEGIN IMMEDIATE
        takes the write lock first, as Django's atomic blocks do here, so positions (the rowid, the highest plus
        one) still follow commit order (ADR 0002). The driver's errors come out as Django's, as from every
        other query (mapped only when one is raised: the context manager costs on every append).
        """
        connection.ensure_connection()
        raw = connection.connection
        stream = batch.stream
        key = (connection.alias, stream.id)
        try:
            placed = None
            if batch.expected_version == 0:
                placed = self._insert(raw, batch, batch.chain(GENESIS), None)
            else:
                prev = _heads.get(key, {}).get(batch.expected_version)
                if prev is not None:
                    placed = self._insert(raw, batch, batch.chain(prev), prev)
            if placed is None:
                placed = self._append_after_reading_head(connection, raw, batch)
        except sqlite3.IntegrityError as exc:
            if SQLITE_UNIQUE_VERSION not in str(exc):
                with connection.wrap_database_errors:
                    raise
            # Another writer placed a version this batch wanted (a new stream's first, or after a remembered head).
            if batch.expected_version == 0:
                raise batch.conflict(None) from None
            head = raw.execute(SQLITE_LAST_EVENT, (stream.id,)).fetchone()
            raise batch.conflict(head[0] if head else 0) from None
        except sqlite3.Error:
            with connection.wrap_database_errors:
                raise
        if len(_heads) > MAX_REMEMBERED_HEADS:
            _heads.clear()
        _heads[key] = {batch.last_version: placed[-1][1]}
        return placed

    def _append_after_reading_head(self, connection: Any, raw: Any, batch: Batch) -> list[tuple[int, str]]:
        own = connection.autocommit and not connection.in_atomic_block
        if own:
            raw.execute("BEGIN IMMEDIATE")
        try:
            stream = batch.stream
            head = raw.execute(SQLITE_LAST_EVENT, (stream.id,)).fetchone()
            if head is None or head[0] != batch.expected_version:
                raise batch.conflict(head[0] if head else 0)
            if head[2] != stream.type:
                raise InvalidAppend(f"stream {stream.id} is a {head[2]}, not a {stream.type}", stream_id=stream.id)
            placed = self._insert(raw, batch, batch.chain(head[1]), None)
        except BaseException:
            if own:
                raw.execute("ROLLBACK")
            raise
        if own:
            raw.execute("COMMIT")
        return placed  # type: ignore[return-value]

    def _insert(self, raw: Any, batch: Batch, hashes: list[str], guard: str | None) -> list[tuple[int, str]] | None:
        """Insert the events; with ``guard`` (the expected version's hash) only if that event is still the last
        one this process saw at that version (None when it is not: nothing was written)."""
        stream = batch.stream
        guard_params = () if guard is None else (stream.id, batch.expected_version, guard, stream.type)
        if len(batch.encoded) == 1:
            row = batch.rows(hashes)[0]
            if guard is None:
                return [(raw.execute(SQLITE_INSERT_ONE, row).lastrowid, hashes[0])]
            cursor = raw.execute(SQLITE_INSERT_ONE_GUARDED, row + guard_params)
            return [(cursor.lastrowid, hashes[0])] if cursor.rowcount == 1 else None
        # What the events share (stream, metadata, instant) is bound once; each row brings its five own values.
        params: list[Any] = [stream.type, stream.id, *batch.meta, batch.recorded_at]
        for i, (spec, _, text) in enumerate(batch.encoded):
            params += (batch.expected_version + i + 1, spec.wire_name, spec.version, text, hashes[i])
        params += guard_params
        sql = SQLITE_INSERT_MANY + ", ".join([SQLITE_OWN_VALUES] * len(hashes)) + ")"
        cursor = raw.execute(sql + _SQLITE_GUARD if guard is not None else sql, params)
        if cursor.rowcount == 0:
            return None
        # One statement under the write lock: each row's rowid is the highest so far plus one (no AUTOINCREMENT,
        # migration 0004), in the order of VALUES, which is version order.
        first = cursor.lastrowid - len(hashes) + 1
        return [(first + i, hash_) for i, hash_ in enumerate(hashes)]


@dataclass
class MySQLDialect(Dialect):
    vendor: str = "mysql"
    counter_positions: bool = True

    def insert_head_sql(self) -> str:
        # Lengths are checked before; IGNORE only turns the duplicate key into "0 rows".
        return (
            "INSERT IGNORE INTO eventlog_stream (stream_id, stream_type, version, last_hash, tenant_id) "
            "VALUES (%s, %s, %s, %s, %s)"
        )

    def lock_appends_sql(self) -> list[str]:
        return ["SELECT last_position FROM eventlog_position_counter WHERE id = 1 FOR UPDATE"]


@dataclass
class OracleDialect(Dialect):
    """Written to the same plan as MySQL; not run here (no Oracle server), see docs/DB.md."""

    vendor: str = "oracle"
    counter_positions: bool = True
    extra: dict = field(default_factory=dict)

    def insert_head_sql(self) -> str:
        return (
            "INSERT /*+ IGNORE_ROW_ON_DUPKEY_INDEX(eventlog_stream(stream_id)) */ INTO eventlog_stream "
            "(stream_id, stream_type, version, last_hash, tenant_id) VALUES (%s, %s, %s, %s, %s)"
        )

    def limit(self, sql: str, limit: int) -> str:
        return f"{sql} FETCH FIRST {int(limit)} ROWS ONLY"

    def lock_appends_sql(self) -> list[str]:
        return ["SELECT last_position FROM eventlog_position_counter WHERE id = 1 FOR UPDATE"]


_DIALECTS: dict[str, type[Dialect]] = {
    "postgresql": PostgresDialect,
    "sqlite": SQLiteDialect,
    "mysql": MySQLDialect,
    "oracle": OracleDialect,
}


# MySQL/MariaDB ER_LOCK_DEADLOCK; PostgreSQL deadlock_detected and serialization_failure (SQLSTATE).
_MYSQL_DEADLOCK = 1213
_PG_RETRYABLE = {"40P01", "40001"}


def is_deadlock(exc: BaseException) -> bool:
    """The server chose this transaction as a deadlock (or serialization) victim and rolled it back whole."""
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) in _PG_RETRYABLE or getattr(cause, "pgcode", None) in _PG_RETRYABLE:
        return True
    args = getattr(cause, "args", ())
    return bool(args) and args[0] == _MYSQL_DEADLOCK


_instances: dict[str, Dialect] = {}


def dialect_for(vendor: str) -> Dialect:
    """The vendor's dialect (one instance each: they hold no state)."""
    found = _instances.get(vendor)
    if found is None:
        try:
            found = _instances[vendor] = _DIALECTS[vendor]()
        except KeyError:
            raise RuntimeError(f"the event log does not support the {vendor!r} database") from None
    return found
