"""Entry points of the benchmark's worker processes (started with the "spawn" method).

Each process calls ``django.setup()`` itself, opens its connection and warms up, reports "ready", and
waits for the shared start time so that every process starts measuring at the same instant. Times are
``time.monotonic()``, which is one clock for every process of the machine (CLOCK_MONOTONIC on Linux),
so the parent can compare a writer's acknowledgement time with the moment a reader saw the event.
"""

from __future__ import annotations

import os
import resource
import time
import traceback
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Channels:
    """The synchronisation objects shared by the parent and all workers of one benchmark run."""

    ready: Any  # Queue: ("ready", kind, index) or ("error", kind, index, text)
    results: Any  # Queue: (kind, index, dict)
    go: Any  # Event: set once start_at is written
    start_at: Any  # Value('d'): monotonic time at which measuring starts
    start_position: Any  # Value('q'): highest position in the table before the start
    writers_done: Any  # Event: set by the parent once every writer has reported
    final_position: Any  # Value('q'): highest position in the table once the writers are done


@dataclass
class WriterJob:
    index: int
    stream_id: str
    batch: int  # events per append call
    duration: float | None = None  # seconds, or
    appends: int | None = None  # a fixed number of append calls
    warmup: int = 3  # append calls before the start (stream creation, plan and connection warm-up)


@dataclass
class ReaderJob:
    index: int
    batch_size: int = 1000
    poll_interval: float = 0.01  # sleep after a batch that was not full, as a subscriber would
    give_up_after: float = 60.0  # seconds after the writers finished
    # "module:Class" of the reader to run; another class lets a candidate fix be measured under the same load
    reader_class: str = "controlplane.eventlog.reader:GlobalReader"


@dataclass
class WorkerStats:
    client_cpu_s: float = 0.0
    backend_cpu_s: float | None = None  # PostgreSQL: this worker's server process, read from /proc
    statements: int = 0
    extra: dict = field(default_factory=dict)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    import django

    django.setup()


def _cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _wait_for_start(ch: Channels) -> float:
    ch.go.wait()
    start_at = ch.start_at.value
    delay = start_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return start_at


def writer_main(job: WriterJob, ch: Channels) -> None:
    try:
        _writer(job, ch)
    except BaseException:  # report instead of dying silently: the parent is waiting for us
        ch.ready.put(("error", "writer", job.index, traceback.format_exc()))
        ch.results.put(("writer", job.index, {"error": traceback.format_exc()}))


def _writer(job: WriterJob, ch: Channels) -> None:
    _setup_django()
    from django.db import connection

    from controlplane.eventlog.store import StreamRef, append
    from tests.benchmarks import domain

    statements = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    stream = StreamRef(domain.STREAM_TYPE, job.stream_id)
    meta = domain.metadata()

    def append_at(version: int, events: list) -> Iterable[int]:
        return [r.position for r in append(stream, version, events, meta)]

    with connection.execute_wrapper(count):
        timed_writer(job, ch, append_at, _backend_pid, lambda: statements)


def timed_writer(
    job: WriterJob,
    ch: Channels,
    append_at: Callable[[int, list], Iterable[int]],
    backend_pid: Callable[[], int | None],
    statements: Callable[[], int] = lambda: 0,
) -> None:
    """The writer's loop, whatever appends: warm up, report ready, append from the shared start until the
    duration or the count is reached, report. ``append_at(version, events)`` returns the events' positions;
    the peer baseline (peer.py) passes its own."""
    from tests.benchmarks import domain
    from tests.benchmarks.stats import process_cpu_seconds

    version = 0
    for _ in range(job.warmup):
        append_at(version, domain.events_for(version + 1, job.batch))
        version += job.batch
    warm_version = version
    backend = backend_pid()
    ch.ready.put(("ready", "writer", job.index))

    positions = array("q")
    latencies = array("d")
    acks = array("d")  # one per append call: when append() returned
    start_at = _wait_for_start(ch)
    cpu0 = _cpu_now()
    statements0 = statements()
    backend0 = process_cpu_seconds(backend) if backend else None
    end = start_at + job.duration if job.duration is not None else None
    remaining = job.appends
    while True:
        if remaining is not None:
            if remaining == 0:
                break
            remaining -= 1
        events = domain.events_for(version + 1, job.batch)
        t0 = time.monotonic()
        if end is not None and t0 >= end:
            break
        placed = append_at(version, events)
        t1 = time.monotonic()
        latencies.append(t1 - t0)
        acks.append(t1)
        positions.extend(placed)
        version += job.batch
    finished = time.monotonic()
    stats = WorkerStats(
        client_cpu_s=_cpu_now() - cpu0,
        backend_cpu_s=(process_cpu_seconds(backend) - backend0) if backend and backend0 is not None else None,
        statements=statements() - statements0,
    )
    ch.results.put(
        (
            "writer",
            job.index,
            {
                "stream_id": job.stream_id,
                "warm_version": warm_version,
                "final_version": version,
                "batch": job.batch,
                "positions": positions.tobytes(),
                "latencies": latencies.tobytes(),
                "acks": acks.tobytes(),
                "started": start_at,
                "finished": finished,
                "stats": stats.__dict__,
            },
        )
    )


def reader_main(job: ReaderJob, ch: Channels) -> None:
    try:
        _reader(job, ch)
    except BaseException:
        ch.ready.put(("error", "reader", job.index, traceback.format_exc()))
        ch.results.put(("reader", job.index, {"error": traceback.format_exc()}))


def _reader(job: ReaderJob, ch: Channels) -> None:
    """A tailing subscriber: GlobalReader().poll(after) in a loop, from the position at the start."""
    _setup_django()
    import importlib

    from tests.benchmarks.stats import process_cpu_seconds

    module_name, _, class_name = job.reader_class.partition(":")
    reader_cls = getattr(importlib.import_module(module_name), class_name)
    reader = reader_cls(batch_size=job.batch_size)
    reader.poll(0, limit=1)  # connection and plan warm-up
    backend = _backend_pid()
    ch.ready.put(("ready", "reader", job.index))

    start_at = _wait_for_start(ch)
    after = int(ch.start_position.value)
    first_after = after
    positions = array("q")
    seen_at = array("d")  # monotonic time at which poll() returned each event
    recorded_lag = array("d")  # wall clock at that moment minus the event's recorded_at
    polls = empty_polls = 0
    cpu0 = _cpu_now()
    backend0 = process_cpu_seconds(backend) if backend else None
    gave_up = False
    done_since: float | None = None
    while True:
        events = reader.poll(after)
        now, wall = time.monotonic(), time.time()
        polls += 1
        if events:
            for event in events:
                positions.append(event.position)
                seen_at.append(now)
                recorded_lag.append(wall - event.recorded_at.timestamp())
            after = events[-1].position
            if len(events) == job.batch_size:
                continue
        else:
            empty_polls += 1
        if ch.writers_done.is_set():
            if after >= ch.final_position.value:
                break
            done_since = done_since or now
            if now - done_since > job.give_up_after:
                gave_up = True
                break
        time.sleep(job.poll_interval)
    stats = WorkerStats(
        client_cpu_s=_cpu_now() - cpu0,
        backend_cpu_s=(process_cpu_seconds(backend) - backend0) if backend and backend0 is not None else None,
        extra={"polls": polls, "empty_polls": empty_polls, "waiting_horizons_at_end": reader.lag_waiting()},
    )
    ch.results.put(
        (
            "reader",
            job.index,
            {
                "first_after": first_after,
                "positions": positions.tobytes(),
                "seen_at": seen_at.tobytes(),
                "recorded_lag": recorded_lag.tobytes(),
                "gave_up": gave_up,
                "started": start_at,
                "stats": stats.__dict__,
            },
        )
    )
