"""Reading the global order without ever skipping an event that commits late with a lower position.

``GlobalReader.poll(after)`` returns only events that are *safe*: no event with a lower position can
still appear. On SQLite, MariaDB/MySQL and Oracle positions are handed out in commit order, so every
visible event is safe. On PostgreSQL a visibility watermark decides (docs/adr/0002-global-order.md):

- a contiguous run of positions after ``after`` (or after the final horizon below) is safe;
- past a gap, the rows seen in snapshot S are safe once every transaction in S's in-progress list has
  finished, because each writer takes its transaction id before it draws its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connections

from controlplane.eventlog.dialects import PostgresDialect, dialect_for
from controlplane.eventlog.records import RecordedEvent, from_row


def parse_snapshot(text: str) -> tuple[int, int, frozenset[int]]:
    """'xmin:xmax:xip,xip' (pg_snapshot's text form) -> (xmin, xmax, in-progress ids)."""
    xmin, xmax, xip = text.split(":")
    return int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x)


@dataclass
class GlobalReader:
    using: str = "default"
    batch_size: int = 1000
    decode: bool = True
    # (highest position seen, in-progress transaction ids of that snapshot), oldest first
    _pending: list[tuple[int, frozenset[int]]] = field(default_factory=list)
    _final: int = 0  # every position at or below this that will ever exist is visible

    def poll(self, after: int, limit: int | None = None) -> list[RecordedEvent] | list[tuple]:
        """Safe events after position ``after`` in position order (decoded, or raw rows)."""
        limit = limit or self.batch_size
        connection = connections[self.using]
        d = dialect_for(connection.vendor)
        with connection.cursor() as cursor:
            if isinstance(d, PostgresDialect):
                cursor.execute(d.snapshot_read_sql(limit), [after])
                fetched = cursor.fetchall()
                rows = self._safe_rows(after, fetched)
            else:
                cursor.execute(d.read_after_sql(limit), [after])
                rows = cursor.fetchall()
        if not self.decode:
            return rows
        return [from_row(row) for row in rows]

    def _safe_rows(self, after: int, fetched: list[tuple]) -> list[tuple]:
        snap, me = fetched[0][0], fetched[0][1]
        _, _, in_progress = parse_snapshot(snap)
        if me is not None:
            in_progress = in_progress - {int(me)}
        # Horizons whose in-flight writers have all finished: nothing at or below them can still appear.
        for seen, waiting_on in self._pending:
            if waiting_on.isdisjoint(in_progress):
                self._final = max(self._final, seen)
        rows = [row[2:] for row in fetched if row[2] is not None]
        if not rows:
            self._pending = [p for p in self._pending if p[0] > self._final]
            return rows
        highest = rows[-1][0]
        if not in_progress:
            self._final = max(self._final, highest)
        # Below the final horizon everything is safe; past it, a contiguous run of positions is.
        safe = max(after, self._final)
        for row in rows:
            if row[0] <= safe:
                continue
            if row[0] != safe + 1:
                break
            safe += 1
        self._pending = [p for p in self._pending if p[0] > self._final]
        if highest > safe:
            self._pending.append((highest, in_progress))
        return [row for row in rows if row[0] <= safe]

    def lag_waiting(self) -> int:
        """How many snapshot horizons are still waiting on in-flight transactions (for metrics)."""
        return len(self._pending)
