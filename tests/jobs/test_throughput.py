"""The rates of a running run between the sync loop's samples (controlplane/jobs/throughput.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controlplane.jobs.throughput import KEEP, engine_metrics, latest_rates, records_in_series, with_sample

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def reading(records: int, nbytes: int = 0) -> dict:
    return {"source_received_count": records, "sink_write_count": records // 2, "source_received_bytes": nbytes}


def test_the_rate_is_between_the_two_newest_samples():
    metrics = with_sample(None, reading(0), T0)
    assert latest_rates(metrics) is None  # one reading: no rate
    metrics = with_sample(metrics, reading(100, 1000), T0 + timedelta(seconds=10))
    metrics = with_sample(metrics, reading(400, 1600), T0 + timedelta(seconds=15))
    rates = latest_rates(metrics)
    assert rates is not None
    assert (rates.records_in, rates.records_out, rates.bytes_in, rates.bytes_out, rates.seconds) == (
        60.0,
        30.0,
        120.0,
        0.0,
        5.0,
    )
    assert records_in_series(metrics) == [10.0, 60.0]
    assert engine_metrics(metrics) == reading(400, 1600)


def test_the_ring_is_bounded_a_counter_reset_restarts_it_and_a_repeated_moment_replaces_the_last():
    metrics: dict = {}
    for k in range(KEEP + 10):
        metrics = with_sample(metrics, reading(k * 10), T0 + timedelta(seconds=k))
    assert len(metrics["samples"]) == KEEP
    again = with_sample(metrics, reading(KEEP * 10 + 500), T0 + timedelta(seconds=KEEP + 9))
    assert len(again["samples"]) == KEEP and again["samples"][-1][1] == KEEP * 10 + 500
    reset = with_sample(metrics, reading(5), T0 + timedelta(seconds=KEEP + 20))  # a resumed run counts from 0
    assert len(reset["samples"]) == 1 and latest_rates(reset) is None
    assert records_in_series({"samples": "not a list"}) == [] and latest_rates(None) is None
