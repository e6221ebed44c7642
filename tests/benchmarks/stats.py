"""Small measuring helpers with no Django in them: percentiles and CPU time read from /proc (Linux)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100); None when it is empty."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def latency_summary_ms(samples: Iterable[float]) -> dict[str, float | int | None]:
    """Seconds in, milliseconds out: count, mean, p50, p95, p99, p99.9 and max."""
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "p99_9": None, "max": None}

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 3)

    return {
        "count": len(ordered),
        "mean": ms(sum(ordered) / len(ordered)),
        "p50": ms(percentile(ordered, 50)),
        "p95": ms(percentile(ordered, 95)),
        "p99": ms(percentile(ordered, 99)),
        "p99_9": ms(percentile(ordered, 99.9)),
        "max": ms(ordered[-1]),
    }


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads), or None if it is gone or unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields that follow start after the last ')'.
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_seconds_by_name(names: Iterable[str]) -> dict[int, float]:
    """CPU seconds of every process whose command name is one of ``names`` (e.g. the database server), by pid."""
    wanted = set(names)
    found: dict[int, float] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        if comm in wanted:
            seconds = process_cpu_seconds(int(entry))
            if seconds is not None:
                found[int(entry)] = seconds
    return found


def system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from the first line of /proc/stat."""
    try:
        with open("/proc/stat") as handle:
            first = handle.readline().split()
    except OSError:
        return 0.0, 0.0
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    total = sum(values)
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuWindow:
    """CPU used between ``start()`` and ``stop()``: the whole machine and the named server processes."""

    def __init__(self, server_names: Iterable[str] = ()) -> None:
        self.server_names = tuple(server_names)
        self._busy = self._total = 0.0
        self._server: dict[int, float] = {}
        self.result: dict[str, float] = {}

    def start(self) -> None:
        self._busy, self._total = system_cpu()
        self._server = cpu_seconds_by_name(self.server_names) if self.server_names else {}

    def stop(self) -> dict[str, float]:
        busy, total = system_cpu()
        server = cpu_seconds_by_name(self.server_names) if self.server_names else {}
        # Per process: connections of other clients come and go during a run; one that ended is not seen at
        # the stop (its CPU is lost, not subtracted), one that started is counted from zero.
        used = sum(seconds - self._server.get(pid, 0.0) for pid, seconds in server.items())
        self.result = {
            "machine_busy_cpu_s": round(busy - self._busy, 3),
            "machine_total_cpu_s": round(total - self._total, 3),
            "server_processes_cpu_s": round(used, 3),
        }
        return self.result
