"""Reading the global order without ever skipping an event that commits late with a lower position.

``GlobalReader.poll(after)`` returns only events that are *safe*: no event with a lower position can
still appear. On SQLite, MariaDB/MySQL and Oracle positions are handed out in commit order, so every
visible event is safe. On PostgreSQL a visibility watermark decides (docs/adr/0002-global-order.md):

- Every writer holds a transaction id before it draws a position (``eventlog_next_position()``).
- A contiguous run of positions after ``after`` (or after the final horizon below) is safe at once.
- Past a gap seen in snapshot S, the reader takes a fresh transaction id X *after* S. Every writer that
  drew a position before S holds an id below X. Once a later snapshot lists no transaction below X in
  progress, all of them have finished, so every position up to the highest seen in S that will ever
  exist is visible: that is the new final horizon.

Why X and not S's own in-progress list: a snapshot lists only ids below its ``xmax`` (the last completed
id + 1); a writer whose id is above that is in progress yet not listed. X's own transaction completes
before the next poll, so every later snapshot's ``xmax`` is above X and lists every id below X that is
still running.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

from django.db import connections

from controlplane.eventlog.dialects import PostgresDialect, dialect_for
from controlplane.eventlog.records import RecordedEvent, decode_rows


def parse_snapshot(text: str) -> tuple[int, int, frozenset[int]]:
    """'xmin:xmax:xip,xip' (pg_snapshot's text form) -> (xmin, xmax, in-progress ids)."""
    xmin, xmax, xip = text.split(":")
    return int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x)


@dataclass
class GlobalReader:
    using: str = "default"
    batch_size: int = 1000
    decode: bool = True
    # (highest position seen in a snapshot, a transaction id taken after that snapshot), oldest first
    _pending: list[tuple[int, int]] = field(default_factory=list)
    _final: int = 0  # every position at or below this that will ever exist is visible
    _side: object = None  # a private autocommit connection, for fresh ids while inside a transaction

    def poll(self, after: int, limit: int | None = None) -> list[RecordedEvent] | list[tuple]:
        """Safe events after position ``after`` in position order (decoded, or raw rows)."""
        limit = limit or self.batch_size
        connection = connections[self.using]
        d = dialect_for(connection.vendor)
        if isinstance(d, PostgresDialect):
            # Outside a transaction, the read itself takes the fresh id when one is needed (dialects.py).
            alone = not connection.in_atomic_block
            params = {
                "after": after,
                "base": max(after, self._final),
                "covered": max((seen for seen, _ in self._pending), default=0),
            }
            rows = self._safe_rows(after, d.fetch(connection, d.snapshot_read_sql(limit, fresh_xid=alone), params))
        else:
            rows = d.fetch(connection, d.read_after_sql(limit), [after])
        if not self.decode:
            return rows
        return decode_rows(rows)

    def _safe_rows(self, after: int, fetched: list[tuple]) -> list[tuple]:
        snap, me, fresh = fetched[0][0], fetched[0][1], fetched[0][2]
        _, _, in_progress = parse_snapshot(snap)
        if me is not None:
            in_progress = in_progress - {int(me)}
        oldest_running = min(in_progress, default=None)
        for seen, bound in self._pending:
            if oldest_running is None or oldest_running >= bound:
                self._final = max(self._final, seen)
        self._pending = [p for p in self._pending if p[0] > self._final]
        rows = [row[3:] for row in fetched if row[3] is not None]
        if not rows:
            return rows
        # Below the final horizon everything is safe; past it, a contiguous run of positions is.
        safe = max(after, self._final)
        for row in rows:
            if row[0] <= safe:
                continue
            if row[0] != safe + 1:
                break
            safe += 1
        highest = rows[-1][0]
        if highest > safe and not any(seen >= highest for seen, _ in self._pending):
            self._pending.append((highest, int(fresh) if fresh is not None else self._fresh_xid()))
        return [row for row in rows if row[0] <= safe]

    def _fresh_xid(self) -> int:
        """A transaction id assigned now, in a transaction that ends at once."""
        connection = connections[self.using]
        if not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_current_xact_id()::text")
                return int(cursor.fetchone()[0])
        # Inside a transaction its own id may be older than the snapshot: ask on a side connection.
        if self._side is None:
            self._side = connections.create_connection(self.using)
            weakref.finalize(self, self._side.close)  # type: ignore[attr-defined]
        with self._side.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT pg_current_xact_id()::text")
            return int(cursor.fetchone()[0])

    def lag_waiting(self) -> int:
        """How many snapshot horizons are still waiting on in-flight transactions (for metrics)."""
        return len(self._pending)


# Transactions of this database that have inserted into the event table and not finished (pg_locks is visible
# to every role, unlike other sessions' transaction ids in pg_stat_activity).
_APPENDERS_SQL = (
    "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' "
    "AND relation = 'eventlog_event'::regclass AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def safe_head(using: str = "default", pause: float = 0.002) -> int:
    """A position to start following the log after: every position at or below it that will ever exist is
    visible now, so a reader that starts here never skips a late commit (the live tailer's start).

    SQLite, MariaDB/MySQL and Oracle commit in position order: the highest visible position is final. On
    PostgreSQL, read the highest visible position M, then wait until every transaction that was inserting
    into the event table at that moment has finished. A position below M that is not visible was drawn
    (by ``nextval()``, inside the INSERT, which holds a RowExclusiveLock on the table until the end of its
    transaction) before M was, so its writer held that lock when M was read; once those writers are gone,
    every position up to M is visible or never will be. Transactions that never wrote to the event table,
    or that belong to other databases of the server, are not waited for. Call outside a transaction.
    """
    connection = connections[using]
    postgres = isinstance(dialect_for(connection.vendor), PostgresDialect)
    if postgres and connection.in_atomic_block:
        raise RuntimeError("safe_head() needs its own transactions: call it outside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(position), 0) FROM eventlog_event")
        head = int(cursor.fetchone()[0])
        if not postgres:
            return head
        cursor.execute(_APPENDERS_SQL)
        waiting = {row[0] for row in cursor.fetchall()}
        while waiting:
            time.sleep(pause)
            cursor.execute(_APPENDERS_SQL)
            waiting &= {row[0] for row in cursor.fetchall()}
    return head
