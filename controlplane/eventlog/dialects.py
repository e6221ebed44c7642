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

from dataclasses import dataclass, field

EVENT_COLUMNS = (
    "stream_type, stream_id, version, event_type, schema_version, payload, tenant_id, workspace_id, "
    "actor_kind, actor_id, request_id, correlation_id, causation_id, client_address, recorded_at, hash"
)
EVENT_PARAMS = 16
READ_COLUMNS = (
    "position, stream_type, stream_id, version, event_type, schema_version, payload, tenant_id, workspace_id, "
    "actor_kind, actor_id, request_id, correlation_id, causation_id, client_address, recorded_at, hash"
)


@dataclass
class Dialect:
    vendor: str
    lock_suffix: str = " FOR UPDATE"
    returning: bool = True
    counter_positions: bool = False  # positions from eventlog_position_counter (commit order)

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

    def snapshot_read_sql(self, limit: int) -> str:
        # One statement, so the snapshot text and the rows come from the same snapshot.
        return (
            "WITH s AS (SELECT pg_current_snapshot()::text AS snap, "
            "pg_current_xact_id_if_assigned()::text AS me) "
            f"SELECT s.snap, s.me, e.* FROM s LEFT JOIN LATERAL (SELECT {READ_COLUMNS} FROM eventlog_event "
            f"WHERE position > %s ORDER BY position LIMIT {int(limit)}) e ON TRUE"
        )

    def lock_appends_sql(self) -> list[str]:
        return ["LOCK TABLE eventlog_stream IN SHARE ROW EXCLUSIVE MODE"]


@dataclass
class SQLiteDialect(Dialect):
    vendor: str = "sqlite"
    lock_suffix: str = ""  # BEGIN IMMEDIATE already holds the database's write lock


@dataclass
class MySQLDialect(Dialect):
    vendor: str = "mysql"
    returning: bool = False
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
    returning: bool = False
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


def dialect_for(vendor: str) -> Dialect:
    try:
        return _DIALECTS[vendor]()
    except KeyError:
        raise RuntimeError(f"the event log does not support the {vendor!r} database") from None
