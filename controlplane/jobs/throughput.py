"""Throughput of a running run: the last few telemetry samples (counts at a time) and the rates between them.

The sync loop reads the engine's cumulative counts every few seconds and keeps only the latest in ``RunTelemetry``;
a rate needs two readings, so the row also keeps a short ring of recent ones (``metrics["samples"]``, ADR 0035).
Pure: no Django, so the arithmetic is tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

SAMPLES_KEY = "samples"
KEEP = 60  # at the sync loop's pace (seconds apart), a few minutes: enough for a sparkline, bounded per run
# A sample: [unix seconds, records in, records out, bytes in, bytes out] (the engine's cumulative counts).
COUNTS = ("source_received_count", "sink_write_count", "source_received_bytes", "sink_write_bytes")


@dataclass(frozen=True)
class Rates:
    """Per second, between the two newest samples."""

    records_in: float
    records_out: float
    bytes_in: float
    bytes_out: float
    seconds: float  # the span they were measured over


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def with_sample(previous: Mapping[str, Any] | None, metrics: dict[str, Any], at: datetime) -> dict[str, Any]:
    """``metrics`` (the engine's latest) carrying the ring of ``previous`` plus this reading, oldest dropped. A
    count lower than the last one means the engine started counting again (a resumed run): the ring restarts."""
    ring = list((previous or {}).get(SAMPLES_KEY) or [])
    sample = [round(at.timestamp(), 3), *(_number(metrics.get(name)) for name in COUNTS)]
    if ring and sample[1] < ring[-1][1]:
        ring = []
    elif ring and sample[0] <= ring[-1][0]:  # a reading of the same moment (or a clock step back) replaces it
        ring = ring[:-1]
    return {**metrics, SAMPLES_KEY: [*ring, sample][-KEEP:]}


def engine_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's metrics alone (what the API shows), without our ring."""
    return {k: v for k, v in metrics.items() if k != SAMPLES_KEY}


def samples_of(metrics: Mapping[str, Any] | None) -> list[list[float]]:
    ring = (metrics or {}).get(SAMPLES_KEY)
    return [s for s in ring if isinstance(s, list) and len(s) == 1 + len(COUNTS)] if isinstance(ring, list) else []


def _between(older: list[float], newer: list[float]) -> Rates | None:
    seconds = newer[0] - older[0]
    if seconds <= 0:
        return None
    per = [max(0.0, (b - a) / seconds) for a, b in zip(older[1:], newer[1:], strict=True)]
    return Rates(per[0], per[1], per[2], per[3], seconds)


def latest_rates(metrics: Mapping[str, Any] | None) -> Rates | None:
    """The rates between the two newest samples; None before there are two."""
    ring = samples_of(metrics)
    return _between(ring[-2], ring[-1]) if len(ring) >= 2 else None


def records_in_series(metrics: Mapping[str, Any] | None) -> list[float]:
    """Records read per second between each pair of consecutive samples, oldest first (a sparkline's points)."""
    ring = samples_of(metrics)
    rates = (_between(a, b) for a, b in pairwise(ring))
    return [r.records_in for r in rates if r is not None]
