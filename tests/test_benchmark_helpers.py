"""The benchmark harness's pure helpers (the benchmarks themselves run with ``make bench``, never here)."""

from __future__ import annotations

from tests.benchmarks.machine import parse_pg_test_fsync
from tests.benchmarks.stats import latency_summary_ms, percentile
from tests.benchmarks.suite import Target

PG_TEST_FSYNC_OUTPUT = """\
1 second per test
O_DIRECT supported on this platform for open_datasync and open_sync.

Compare file sync methods using one 8kB write:
(in wal_sync_method preference order, except fdatasync is Linux's default)
        open_datasync                     10061.306 ops/sec      99 usecs/op
        fdatasync                          8270.049 ops/sec     121 usecs/op
        fsync                             10754.140 ops/sec      93 usecs/op
        fsync_writethrough                              n/a
        open_sync                         11652.499 ops/sec      86 usecs/op

Compare file sync methods using two 8kB writes:
(in wal_sync_method preference order, except fdatasync is Linux's default)
        open_datasync                      5639.363 ops/sec     177 usecs/op
        fdatasync                         10855.522 ops/sec      92 usecs/op

Compare open_sync with different write sizes:
         1 * 16kB open_sync write         12070.553 ops/sec      83 usecs/op
"""


def test_percentile_is_nearest_rank() -> None:
    ordered = [float(i) for i in range(1, 101)]
    assert percentile(ordered, 50) == 50.0
    assert percentile(ordered, 99) == 99.0
    assert percentile(ordered, 100) == 100.0
    assert percentile([], 99) is None


def test_latency_summary_in_milliseconds() -> None:
    summary = latency_summary_ms([0.001, 0.002, 0.003, 0.004])
    assert summary["count"] == 4
    assert summary["p50"] == 2.0
    assert summary["max"] == 4.0
    assert latency_summary_ms([])["p99"] is None


def test_pg_test_fsync_sections() -> None:
    sections = parse_pg_test_fsync(PG_TEST_FSYNC_OUTPUT)
    one = next(v for k, v in sections.items() if k.startswith("one 8kB"))
    two = next(v for k, v in sections.items() if k.startswith("two 8kB"))
    assert one["fdatasync"] == 8270.049
    assert one["open_datasync"] == 10061.306
    assert "fsync_writethrough" not in one
    assert two["fdatasync"] == 10855.522


def test_targets() -> None:
    assert Target(">=", 100).met(100)
    assert not Target(">=", 100).met(99.9)
    assert Target("<", 5).met(4.99)
    assert not Target("<", 5).met(5)
    assert not Target(">=", 1).met(None)
