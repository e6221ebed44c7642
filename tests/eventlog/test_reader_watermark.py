"""The PostgreSQL visibility watermark, driven with made-up snapshots (no database needed)."""

from __future__ import annotations

from controlplane.eventlog.reader import GlobalReader, parse_snapshot


class Reader(GlobalReader):
    """Hands out the transaction ids a real reader would get from the database."""

    def __init__(self, *xids: int) -> None:
        super().__init__()
        self.xids = list(xids)

    def _fresh_xid(self) -> int:
        return self.xids.pop(0)


def safe(
    reader: GlobalReader, after: int, snap: str, positions: list[int], me: str | None = None, fresh: str | None = None
) -> list[int]:
    # Rows as the read statement returns them: snapshot, own id, an id taken by the statement (or NULL), row.
    fetched = [(snap, me, fresh, p) for p in positions] or [(snap, me, fresh, None)]
    return [row[0] for row in reader._safe_rows(after, fetched)]


def test_parse_snapshot():
    assert parse_snapshot("10:15:10,12") == (10, 15, frozenset({10, 12}))
    assert parse_snapshot("7:7:") == (7, 7, frozenset())


def test_contiguous_rows_are_safe_even_with_writers_in_flight():
    assert safe(Reader(), 0, "100:105:100,103", [1, 2, 3]) == [1, 2, 3]


def test_rows_past_a_gap_wait_until_every_older_transaction_finished():
    reader = Reader(110, 130, 150)  # ids taken right after the snapshots that saw a gap
    assert safe(reader, 0, "100:105:100,103", [1, 2, 4, 5]) == [1, 2]
    # 103 finished, 100 still runs: still waiting
    assert safe(reader, 2, "100:112:100,111", [4, 5, 6]) == []
    # nothing below 110 runs any more: 3 never came (rolled back), 4 and 5 are final; 6 follows 5
    assert safe(reader, 2, "111:113:111", [4, 5, 6, 8]) == [4, 5, 6]


def test_a_writer_above_the_snapshots_xmax_is_waited_for():
    # The trap: xmax is the last *completed* id + 1. A writer with id 105 that drew position 2 before
    # the snapshot is in progress but not listed. Its id is below the fresh id 120, so we wait for it.
    reader = Reader(120)
    assert safe(reader, 0, "105:105:", [1, 3]) == [1]
    assert safe(reader, 1, "105:121:105", [3]) == []  # 105 now listed as running
    assert safe(reader, 1, "121:121:", [2, 3]) == [2, 3]  # it committed position 2


def test_the_readers_own_transaction_is_not_waited_for():
    reader = Reader(90)
    assert safe(reader, 0, "77:78:77", [3, 4], me="77") == []  # 1 and 2 missing
    assert safe(reader, 0, "77:95:77", [3, 4], me="77") == [3, 4]


def test_empty_reads_still_resolve_pending_horizons():
    reader = Reader(12)
    assert safe(reader, 0, "10:11:10", [2]) == []
    assert safe(reader, 5, "13:13:", []) == []
    assert reader._final == 2


def test_one_fresh_id_covers_later_rows_below_its_horizon():
    reader = Reader(50)
    assert safe(reader, 0, "40:41:40", [2, 3]) == []
    assert safe(reader, 0, "40:51:40", [2, 3]) == []  # covered by the pending horizon: no new id taken
    assert reader.xids == []


def test_an_id_taken_by_the_read_statement_is_used_instead_of_a_round_trip():
    reader = Reader()  # no id to hand out: a call of _fresh_xid would fail
    assert safe(reader, 0, "100:105:100", [1, 3], fresh="106") == [1]
    assert reader._pending == [(3, 106)]
    assert safe(reader, 1, "100:107:100", [3]) == []  # 100 is still running
    assert safe(reader, 1, "107:107:", [3]) == [3]
