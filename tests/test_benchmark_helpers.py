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


def test_peer_baseline_is_planned_where_the_peer_has_a_recorder() -> None:
    import argparse

    from tests.benchmarks.run import plan_for

    args = argparse.Namespace(
        duration=10.0, reader_class="x:Y", peer=True, peer_rounds=3, quick=False, only=["append_batched"]
    )
    assert plan_for("sqlite", args)["peer"] and plan_for("postgresql", args)["peer"]
    assert not plan_for("mysql", args)["peer"]  # eventsourcing has no MariaDB recorder
    args.peer = False
    assert not plan_for("sqlite", args)["peer"]


def test_peer_table_prints_the_ratio_and_both_cpu_figures(capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.benchmarks.run import print_peer_table

    details = {
        "ours_median_events_per_s": 3000,
        "peer_median_events_per_s": 2000,
        "ours_cpu_us_per_event": {"writer_python_cpu_us_per_event": 150.0},
        "peer_cpu_us_per_event": {"writer_python_cpu_us_per_event": 120.0},
    }
    bench = {"id": "append_single_1w_vs_peer", "database": "sqlite", "figure": 1.5, "correct": True, "details": details}
    report = {
        "machine": {"pg_test_fsync": {"fdatasync_ops_per_s": 9000.0}, "pg_test_fsync_at_end": {"error": "x"}},
        "databases": [{"benchmarks": [bench]}],
    }
    print_peer_table(report)
    out = capsys.readouterr().out
    assert "1.50x" in out and "client 150" in out and "client 120" in out
    assert "start 9,000 fdatasync/s, end not measured" in out
