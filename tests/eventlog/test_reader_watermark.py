"""The PostgreSQL visibility watermark, driven with made-up snapshots (no database needed)."""

from __future__ import annotations

from controlplane.eventlog.reader import GlobalReader, parse_snapshot


def fetched(snap: str, positions: list[int], me: str | None = None) -> list[tuple]:
    if not positions:
        return [(snap, me, None)]
    return [(snap, me, p) for p in positions]


def safe(reader: GlobalReader, after: int, snap: str, positions: list[int], me: str | None = None) -> list[int]:
    return [row[0] for row in reader._safe_rows(after, fetched(snap, positions, me))]


def test_parse_snapshot():
    assert parse_snapshot("10:15:10,12") == (10, 15, frozenset({10, 12}))
    assert parse_snapshot("7:7:") == (7, 7, frozenset())


def test_contiguous_rows_are_safe_even_with_writers_in_flight():
    assert safe(GlobalReader(), 0, "100:105:100,103", [1, 2, 3]) == [1, 2, 3]


def test_rows_past_a_gap_wait_until_the_snapshots_writers_finish():
    reader = GlobalReader()
    # 3 is missing: its writer may be 100 or 103, still in progress
    assert safe(reader, 0, "100:105:100,103", [1, 2, 4, 5]) == [1, 2]
    # 103 finished but 100 has not: still waiting
    assert safe(reader, 2, "100:107:100,106", [4, 5, 6]) == []
    # both finished: 3 never came (rolled back), so 4 and 5 are final; 6 is past the old horizon and
    # 106 is in flight, so 6 waits
    assert safe(reader, 2, "106:108:106", [4, 5, 6, 8]) == [4, 5, 6]


def test_a_late_commit_below_the_horizon_is_delivered_in_order():
    reader = GlobalReader()
    assert safe(reader, 0, "50:53:51", [1, 3]) == [1]
    # the writer of 2 committed meanwhile
    assert safe(reader, 1, "53:53:", [2, 3]) == [2, 3]


def test_no_writer_in_flight_makes_everything_visible_safe():
    assert safe(GlobalReader(), 0, "90:90:", [2, 5, 9]) == [2, 5, 9]


def test_the_readers_own_transaction_is_not_waited_for():
    assert safe(GlobalReader(), 0, "77:78:77", [3, 4], me="77") == [3, 4]


def test_empty_reads_still_resolve_pending_horizons():
    reader = GlobalReader()
    assert safe(reader, 0, "10:12:10", [2]) == []
    assert safe(reader, 5, "12:12:", []) == []
    assert reader._final == 2
