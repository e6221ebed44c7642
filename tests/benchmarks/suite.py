"""The benchmarks of one database: ``python -m tests.benchmarks.suite --out FILE`` with
CONTROLPLANE_DATABASE_URL naming an already migrated database. ``run.py`` drives it once per database.

Each benchmark yields one entry: a figure, its unit, the target, pass/fail, and the correctness checks
done on the data it wrote or read. A target is a throughput or latency bound; a correctness check is
a fact about the log (no duplicate or skipped version, every acknowledged event in the table and
nothing else, every reader saw every position once and in order).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
import traceback
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.benchmarks.procs import Channels, ReaderJob, WriterJob, _cpu_now, reader_main, writer_main
from tests.benchmarks.stats import CpuWindow, latency_summary_ms

SERVER_PROCESS_NAMES = {"postgresql": ("postgres",), "mysql": ("mariadbd", "mysqld"), "sqlite": ()}
READY_TIMEOUT = 240.0


@dataclass(frozen=True)
class Target:
    op: str  # ">=" or "<"
    value: float
    basis: str = ""  # where the value comes from, when it is derived from another figure

    def met(self, figure: float | None) -> bool:
        if figure is None:
            return False
        return figure >= self.value if self.op == ">=" else figure < self.value

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "value": round(self.value, 3)}
        if self.basis:
            out["basis"] = self.basis
        return out


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class Plan:
    """How big each benchmark is; run.py passes --quick for a smoke run."""

    duration: float = 10.0
    writers: int = 16
    readers: int = 4
    poll_interval: float = 0.01
    batch: int = 100
    batched_events: int = 1_000_000
    batched_writers: int = 2
    catch_up_batch: int = 5000
    reader_class: str = "controlplane.eventlog.reader:GlobalReader"
    aggregate_events: int = 10_000
    snapshot_every: int = 100
    gating: bool = True  # False: figures are for comparison only (MariaDB)
    non_gating: set[str] = field(default_factory=set)  # benchmark ids without a target of their own here
    only: set[str] = field(default_factory=set)
    peer: bool = False  # also run the shapes through pyeventsourcing (peer.py), alternating with ours
    peer_rounds: int = 5
    peer_duration: float = 3.0  # seconds per single-append round
    peer_batched_events: int = 100_000  # events per batched round
    peer_read_events: int = 100_000  # events per catch-up round


def entry(
    bench_id: str,
    title: str,
    vendor: str,
    figure: float | None,
    unit: str,
    target: Target | None,
    checks: list[Check],
    *,
    gating: bool,
    secondary: list[dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    secondary = secondary or []
    passed = None if target is None else target.met(figure) and all(s["passed"] for s in secondary)
    return {
        "id": bench_id,
        "title": title,
        "database": vendor,
        "figure": None if figure is None else round(figure, 3),
        "unit": unit,
        "target": None if target is None else target.as_dict(),
        "passed": passed,
        "gating": gating,
        "secondary": secondary,
        "correct": all(c.passed for c in checks),
        "checks": [c.as_dict() for c in checks],
        "parameters": parameters or {},
        "details": details or {},
    }


def secondary_figure(name: str, figure: float | None, unit: str, target: Target) -> dict[str, Any]:
    return {
        "name": name,
        "figure": None if figure is None else round(figure, 3),
        "unit": unit,
        "target": target.as_dict(),
        "passed": target.met(figure),
    }


# --- running writer and reader processes -------------------------------------------------------------


@dataclass
class LoadResult:
    start_position: int
    start_at: float
    writers: list[dict[str, Any]]
    readers: list[dict[str, Any]]
    cpu: dict[str, float]
    loadavg_before: tuple[float, float, float]
    setup_s: float


def _max_position() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(position), 0) FROM eventlog_event")
        return int(cursor.fetchone()[0])


def run_load(
    vendor: str,
    writers: list[WriterJob],
    readers: list[ReaderJob],
    *,
    writer_target: Callable[[WriterJob, Channels], None] = writer_main,
    max_position: Callable[[], int] | None = None,
) -> LoadResult:
    """Start the processes, wait until every one is warmed up, start them at one instant, collect.
    ``writer_target`` and ``max_position`` let the peer baseline (peer.py) run its writers the same way."""
    from django.db import connection

    max_position = max_position or _max_position

    ctx = multiprocessing.get_context("spawn")
    ch = Channels(
        ready=ctx.Queue(),
        results=ctx.Queue(),
        go=ctx.Event(),
        start_at=ctx.Value("d", 0.0),
        start_position=ctx.Value("q", 0),
        writers_done=ctx.Event(),
        final_position=ctx.Value("q", 0),
    )
    procs = [ctx.Process(target=writer_target, args=(job, ch), name=f"bench-writer-{job.index}") for job in writers]
    procs += [ctx.Process(target=reader_main, args=(job, ch), name=f"bench-reader-{job.index}") for job in readers]
    connection.close()  # nothing of ours stays open while the workers run
    t_setup = time.monotonic()
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            message = ch.ready.get(timeout=READY_TIMEOUT)
            if message[0] == "error":
                raise RuntimeError(f"{message[1]} {message[2]} failed while starting:\n{message[3]}")
        setup_s = time.monotonic() - t_setup
        start_position = max_position()
        connection.close()
        ch.start_position.value = start_position
        window = CpuWindow(SERVER_PROCESS_NAMES.get(vendor, ()))
        loadavg = os.getloadavg()
        start_at = time.monotonic() + 0.2
        ch.start_at.value = start_at
        ch.go.set()
        time.sleep(max(0.0, start_at - time.monotonic()))
        window.start()
        longest = max((job.duration or 0.0) for job in writers) if writers else 0.0
        writer_results: dict[int, dict[str, Any]] = {}
        reader_results: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + longest + 600
        while len(writer_results) < len(writers):
            kind, index, result = ch.results.get(timeout=max(1.0, deadline - time.monotonic()))
            if "error" in result:
                raise RuntimeError(f"{kind} {index} failed:\n{result['error']}")
            (writer_results if kind == "writer" else reader_results)[index] = result
        cpu = window.stop()
        ch.final_position.value = max_position()
        connection.close()
        ch.writers_done.set()
        while len(reader_results) < len(readers):
            kind, index, result = ch.results.get(timeout=180)
            if "error" in result:
                raise RuntimeError(f"{kind} {index} failed:\n{result['error']}")
            reader_results[index] = result
    finally:
        ch.writers_done.set()
        ch.go.set()
        for proc in procs:
            proc.join(timeout=30)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
    return LoadResult(
        start_position=start_position,
        start_at=start_at,
        writers=[writer_results[i] for i in sorted(writer_results)],
        readers=[reader_results[i] for i in sorted(reader_results)],
        cpu=cpu,
        loadavg_before=loadavg,
        setup_s=setup_s,
    )


def _floats(raw: bytes) -> array:
    out = array("d")
    out.frombytes(raw)
    return out


def _ints(raw: bytes) -> array:
    out = array("q")
    out.frombytes(raw)
    return out


# --- correctness checks ---------------------------------------------------------------------------------


def check_writes(load: LoadResult) -> tuple[list[Check], array]:
    """Compare what the writers were told (acknowledged appends) with the table. Returns the table's
    positions written during the run, in order, for the reader checks."""
    from django.db import connection

    checks: list[Check] = []
    acked = array("q")
    for result in load.writers:
        acked.extend(_ints(result["positions"]))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT position FROM eventlog_event WHERE position > %s ORDER BY position", [load.start_position]
        )
        table = array("q", (row[0] for row in cursor.fetchall()))
        cursor.execute(
            "SELECT stream_id, COUNT(*), COUNT(DISTINCT version), MIN(version), MAX(version) FROM eventlog_event "
            "WHERE position > %s GROUP BY stream_id",
            [load.start_position],
        )
        per_stream = {row[0]: row[1:] for row in cursor.fetchall()}
        ids = [r["stream_id"] for r in load.writers]
        cursor.execute(
            "SELECT stream_id, version FROM eventlog_stream WHERE stream_id IN (" + ", ".join(["%s"] * len(ids)) + ")",
            ids,
        )
        heads = dict(cursor.fetchall())

    total_acked = len(acked)
    checks.append(
        Check(
            "table count equals acknowledged events",
            len(table) == total_acked,
            f"{len(table)} rows written during the run, {total_acked} events acknowledged",
        )
    )
    acked_set = set(acked)
    table_set = set(table)
    checks.append(
        Check(
            "acknowledged positions are exactly the table's positions",
            len(acked_set) == total_acked and acked_set == table_set,
            f"{total_acked - len(acked_set)} duplicate acknowledged positions, "
            f"{len(table_set - acked_set)} unacknowledged rows, "
            f"{len(acked_set - table_set)} acknowledged but missing",
        )
    )
    duplicates = [s for s, (count, distinct, _, _) in per_stream.items() if count != distinct]
    checks.append(
        Check("no duplicate stream versions", not duplicates, f"{len(duplicates)} streams with a repeated version")
    )
    skipped = []
    heads_wrong = []
    for result in load.writers:
        stream_id, warm, final = result["stream_id"], result["warm_version"], result["final_version"]
        if final > warm:
            count, _distinct, low, high = per_stream.get(stream_id, (0, 0, None, None))
            if (count, low, high) != (final - warm, warm + 1, final):
                skipped.append(f"{stream_id}: {count} rows, versions {low}..{high}, expected {warm + 1}..{final}")
        if heads.get(stream_id) != final:
            heads_wrong.append(f"{stream_id}: head {heads.get(stream_id)}, acknowledged {final}")
    checks.append(
        Check(
            "no skipped stream versions (each stream holds exactly its acknowledged versions)",
            not skipped,
            "; ".join(skipped[:5]) or f"{len(load.writers)} streams contiguous",
        )
    )
    checks.append(
        Check("stream heads match the last acknowledged version", not heads_wrong, "; ".join(heads_wrong[:5]))
    )
    strangers = set(per_stream) - set(ids)
    checks.append(Check("no rows from other streams", not strangers, f"{len(strangers)} unexpected streams"))
    return checks, table


def check_readers(load: LoadResult, table: array) -> list[Check]:
    checks = []
    table_set = set(table)
    for result in load.readers:
        seen = _ints(result["positions"])
        increasing = all(seen[i] < seen[i + 1] for i in range(len(seen) - 1))
        seen_set = set(seen)
        checks.append(
            Check(
                f"reader {len(checks)} saw every position exactly once, in increasing order",
                increasing and len(seen_set) == len(seen) and seen_set == table_set and not result["gave_up"],
                f"{len(seen)} seen ({len(seen) - len(seen_set)} repeated), "
                f"{len(table_set - seen_set)} missed {sorted(table_set - seen_set)[:5]}, "
                f"{len(seen_set - table_set)} not in the table, increasing={increasing}, gave_up={result['gave_up']}",
            )
        )
    return checks


def durability_check(vendor: str) -> Check:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
            fsync, sync_commit = cursor.fetchone()
            return Check(
                "durable commits (fsync=on, synchronous_commit=on)",
                fsync == "on" and sync_commit == "on",
                f"fsync={fsync}, synchronous_commit={sync_commit}",
            )
        if vendor == "mysql":
            cursor.execute("SELECT @@innodb_flush_log_at_trx_commit")
            flush = int(cursor.fetchone()[0])
            return Check(
                "durable commits (innodb_flush_log_at_trx_commit=1)",
                flush == 1,
                f"innodb_flush_log_at_trx_commit={flush}",
            )
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        sync = int(cursor.fetchone()[0])
        return Check(
            "durable commits (journal_mode=wal, synchronous=FULL)",
            journal == "wal" and sync == 2,
            f"journal_mode={journal}, synchronous={sync} (2 = FULL)",
        )


# --- the append benchmarks --------------------------------------------------------------------------------


def _throughput(load: LoadResult) -> tuple[float, float, int, int]:
    events = sum(len(_ints(r["positions"])) for r in load.writers)
    appends = sum(len(_floats(r["latencies"])) for r in load.writers)
    elapsed = max(r["finished"] for r in load.writers) - load.start_at
    return events / elapsed, elapsed, events, appends


def _cpu_details(vendor: str, load: LoadResult, events: int, appends: int, elapsed: float) -> dict[str, Any]:
    writer_cpu = sum(r["stats"]["client_cpu_s"] for r in load.writers)
    reader_cpu = sum(r["stats"]["client_cpu_s"] for r in load.readers)
    backends = [r["stats"]["backend_cpu_s"] for r in load.writers + load.readers]
    backend_cpu = sum(b for b in backends if b is not None) if all(b is not None for b in backends) else None
    statements = sum(r["stats"]["statements"] for r in load.writers)
    server = load.cpu["server_processes_cpu_s"]
    busy = load.cpu["machine_busy_cpu_s"]
    known = writer_cpu + reader_cpu + (server if vendor != "sqlite" else 0.0)
    out: dict[str, Any] = {
        "elapsed_s": round(elapsed, 3),
        "events": events,
        "append_calls": appends,
        "writer_python_cpu_us_per_event": round(writer_cpu / events * 1e6, 1) if events else None,
        "database_server_cpu_us_per_event": round(server / events * 1e6, 1) if events and server else None,
        "sql_statements_per_append": round(statements / appends, 2) if appends else None,
        "machine_cores_busy": round(busy / elapsed, 2) if elapsed else None,
        "machine_cores": os.cpu_count(),
        "cpu_seconds": {
            "writers": round(writer_cpu, 3),
            "readers": round(reader_cpu, 3),
            "database_server": round(server, 3),
            "worker_backends": None if backend_cpu is None else round(backend_cpu, 3),
            "whole_machine": busy,
            "everything_else": round(busy - known, 3),
        },
        "loadavg_before": [round(x, 2) for x in load.loadavg_before],
        "process_start_s": round(load.setup_s, 2),
    }
    if vendor == "postgresql" and backend_cpu is not None and events:
        out["writer_backend_cpu_us_per_event"] = round(
            sum(r["stats"]["backend_cpu_s"] for r in load.writers) / events * 1e6, 1
        )
    return out


def writer_jobs(name: str, writers: int, batch: int, duration: float, appends: int | None) -> list[WriterJob]:
    """One job per writer on a stream of its own: for ``duration`` seconds, or ``appends`` calls when given."""
    tag = f"{name}-{int(time.time() * 1000) % 10_000_000}"
    return [
        WriterJob(
            index=i, stream_id=f"{tag}-w{i}", batch=batch, duration=None if appends else duration, appends=appends
        )
        for i in range(writers)
    ]


def bench_appends(
    vendor: str,
    plan: Plan,
    bench_id: str,
    title: str,
    writers: int,
    batch: int,
    target: Target | None,
    *,
    readers: int = 0,
    p99_target: Target | None = None,
    lag_target: Target | None = None,
    appends_per_writer: int | None = None,
    gating: bool = True,
) -> tuple[dict[str, Any], float]:
    jobs = writer_jobs(bench_id, writers, batch, plan.duration, appends_per_writer)
    reader_jobs = [
        ReaderJob(index=i, poll_interval=plan.poll_interval, reader_class=plan.reader_class) for i in range(readers)
    ]
    load = run_load(vendor, jobs, reader_jobs)
    rate, elapsed, events, appends = _throughput(load)
    checks, table = check_writes(load)
    checks.append(durability_check(vendor))
    latencies = [x for r in load.writers for x in _floats(r["latencies"])]
    lat = latency_summary_ms(latencies)
    details = {"append_latency_ms": lat, **_cpu_details(vendor, load, events, appends, elapsed)}
    secondary = []
    if p99_target is not None:
        secondary.append(secondary_figure("append latency p99", lat["p99"], "ms", p99_target))
    if readers:
        checks += check_readers(load, table)
        ack_of: dict[int, float] = {}
        for r in load.writers:
            acks = _floats(r["acks"])
            for i, position in enumerate(_ints(r["positions"])):
                ack_of[position] = acks[i // r["batch"]]
        ack_lag = []
        rec_lag = []
        for r in load.readers:
            seen_at = _floats(r["seen_at"])
            for i, position in enumerate(_ints(r["positions"])):
                if position in ack_of:
                    ack_lag.append(seen_at[i] - ack_of[position])
            rec_lag.extend(_floats(r["recorded_lag"]))
        ack_summary = latency_summary_ms(ack_lag)
        details["reader_lag_after_ack_ms"] = ack_summary
        details["reader_lag_after_recorded_at_ms"] = latency_summary_ms(rec_lag)
        details["lag_definition"] = (
            "reader lag = monotonic time at which poll() returned the event in the reader process minus the "
            "monotonic time at which append() returned to its writer (one clock for all processes); "
            "negative when the reader saw the commit before the writer got the acknowledgement"
        )
        details["seen_before_ack"] = sum(1 for x in ack_lag if x < 0)
        details["reader_polls"] = [r["stats"]["extra"] for r in load.readers]
        if lag_target is not None:
            secondary.append(
                secondary_figure("reader lag p99 (writer ack -> reader sees it)", ack_summary["p99"], "ms", lag_target)
            )
    parameters = {
        "writers": writers,
        "events_per_append": batch,
        "readers": readers,
        "duration_s": None if appends_per_writer else plan.duration,
        "appends_per_writer": appends_per_writer,
        "reader_poll_interval_s": plan.poll_interval if readers else None,
        "reader_class": plan.reader_class if readers else None,
        "distinct_streams": True,
        "processes": "one OS process per writer and per reader (multiprocessing spawn, django.setup() each)",
    }
    return (
        entry(
            bench_id,
            title,
            vendor,
            rate,
            "events/s",
            target,
            checks,
            gating=gating,
            secondary=secondary,
            parameters=parameters,
            details=details,
        ),
        rate,
    )


# --- reading, rebuilding, aggregates -----------------------------------------------------------------------


def _table_positions() -> array:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT position FROM eventlog_event ORDER BY position")
        return array("q", (row[0] for row in cursor.fetchall()))


def bench_catch_up(vendor: str, plan: Plan, target: Target | None, gating: bool) -> dict[str, Any]:
    """GlobalReader(decode=True).poll from 0 to the end: every event of the log decoded to RecordedEvent."""
    from django.db import connection

    from controlplane.eventlog.dialects import READ_COLUMNS
    from controlplane.eventlog.reader import GlobalReader
    from controlplane.eventlog.records import from_row
    from tests.benchmarks.domain import SomethingHappened

    reader = GlobalReader(batch_size=plan.catch_up_batch)
    seen = array("q")
    undecoded = wrong_type = 0
    after = 0
    t0 = time.perf_counter()
    while True:
        events = reader.poll(after)
        if not events:
            break
        seen.extend([e.position for e in events])
        after = events[-1].position
    elapsed = time.perf_counter() - t0
    # The decoded objects were dropped batch by batch; check decoding on one batch after the clock stopped.
    for e in reader.poll(0):
        if e.data is None:
            undecoded += 1
        elif not isinstance(e.data, SomethingHappened):
            wrong_type += 1
    table = _table_positions()
    increasing = all(seen[i] < seen[i + 1] for i in range(len(seen) - 1))
    checks = [
        Check(
            "read every position of the table exactly once, in order",
            increasing and len(seen) == len(table) and seen == table,
            f"{len(seen)} read, {len(table)} in the table, increasing={increasing}",
        ),
        Check(
            "events decode to the registered dataclass",
            undecoded == 0 and wrong_type == 0,
            f"{undecoded} undecoded, {wrong_type} of another type in the first batch",
        ),
    ]
    rate = len(seen) / elapsed if elapsed else 0.0

    # Where the time goes: the same rows fetched raw (no decoding), and decoding alone on rows in memory.
    raw_reader = GlobalReader(batch_size=plan.catch_up_batch, decode=False)
    after = fetched = 0
    t0 = time.perf_counter()
    while True:
        rows = raw_reader.poll(after)
        if not rows:
            break
        fetched += len(rows)
        after = rows[-1][0]
    raw_elapsed = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {READ_COLUMNS} FROM eventlog_event ORDER BY position LIMIT 100000")
        sample = cursor.fetchall()
    t0 = time.perf_counter()
    for row in sample:
        from_row(row)
    decode_elapsed = time.perf_counter() - t0
    details = {
        "events": len(seen),
        "elapsed_s": round(elapsed, 3),
        "fetch_only_events_per_s": round(fetched / raw_elapsed) if raw_elapsed else None,
        "from_row_only_events_per_s": round(len(sample) / decode_elapsed) if decode_elapsed else None,
        "from_row_us_per_event": round(decode_elapsed / len(sample) * 1e6, 2) if sample else None,
    }
    parameters = {"batch_size": plan.catch_up_batch, "decode": True, "process": "one (the suite's own)"}
    return entry(
        "catch_up_read",
        "Catch-up read of the global log into decoded events",
        vendor,
        rate,
        "events/s",
        target,
        checks,
        gating=gating,
        parameters=parameters,
        details=details,
    )


def bench_rebuild(vendor: str, plan: Plan, target: Target | None, gating: bool) -> dict[str, Any]:
    from django.db import connection

    from controlplane.eventlog import projectors
    from controlplane.eventlog.maintenance import BATCH, rebuild
    from tests.benchmarks import domain

    domain.create_read_model()
    projector = domain.StreamTotalsProjector()
    projectors.register(projector)  # in this process only: the writer processes never see it
    try:
        t0 = time.perf_counter()
        applied = rebuild([projector.name])
        elapsed = time.perf_counter() - t0
    finally:
        projectors.unregister(projector.name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM eventlog_event")
        total = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT s.stream_id, s.version, m.last_position FROM eventlog_stream s JOIN "
            "(SELECT stream_id, MAX(position) AS last_position FROM eventlog_event GROUP BY stream_id) m "
            "ON m.stream_id = s.stream_id WHERE s.stream_type = %s",
            [domain.STREAM_TYPE],
        )
        expected = {row[0]: (row[1], row[1], domain.expected_amount(1, row[1]), row[1], row[2]) for row in cursor}
        cursor.execute(
            f"SELECT stream_id, events, events, amount, last_version, last_position FROM {domain.READ_MODEL_TABLE}"
        )
        got = {row[0]: tuple(int(v) for v in row[1:]) for row in cursor}
    wrong = [s for s in expected if got.get(s) != expected[s]]
    checks = [
        Check(
            "rebuild applied every event of the log",
            applied.get(projector.name) == total,
            f"applied {applied.get(projector.name)}, table holds {total}",
        ),
        Check(
            "read model equals totals recomputed from the log (count, amount, last version and position)",
            not wrong and set(got) == set(expected),
            f"{len(expected)} streams, {len(wrong)} wrong, {len(set(got) - set(expected))} extra rows",
        ),
    ]
    domain.drop_read_model()
    rate = total / elapsed if elapsed else 0.0
    parameters = {
        "events_in_log": total,
        "projector": "bench.stream_totals: per-stream totals, multi-row upserts",
        "maintenance_batch": BATCH,
    }
    details = {"elapsed_s": round(elapsed, 3), "streams": len(expected), "upsert_statements": projector.statements}
    return entry(
        "projection_rebuild",
        "Projection rebuild (maintenance.rebuild) into a bulk-writing projector",
        vendor,
        rate,
        "events/s",
        target,
        checks,
        gating=gating,
        parameters=parameters,
        details=details,
    )


def bench_aggregate(vendor: str, plan: Plan, gating: bool) -> dict[str, Any]:
    from controlplane.eventlog import aggregates
    from controlplane.eventlog.store import StreamRef, append
    from tests.benchmarks import domain

    with_snap = domain.aggregate_spec("bench.counter", plan.snapshot_every)
    without = domain.aggregate_spec("bench.counter_unsnapshotted", 10**9)  # never crosses: no snapshot row
    stream = StreamRef(domain.STREAM_TYPE, f"aggregate-{int(time.time() * 1000) % 10_000_000}")
    meta = domain.metadata()
    state, version = with_snap.initial(), 0
    step = plan.batch
    while version < plan.aggregate_events:
        count = min(step, plan.aggregate_events - version)
        recorded = append(stream, version, domain.events_for(version + 1, count), meta)
        for event in recorded:
            state = with_snap.evolve(state, event)
        aggregates.save_snapshot_if_due(with_snap, stream.id, state, version, version + count)
        version += count

    def timed(spec: aggregates.AggregateSpec, repeat: int) -> tuple[float, tuple]:
        times = []
        result: tuple = ()
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = aggregates.load(spec, stream.id)
            times.append(time.perf_counter() - t0)
        return statistics.median(times), result

    aggregates.load(with_snap, stream.id)
    snap_s, snap_result = timed(with_snap, 50)
    full_s, full_result = timed(without, 5)
    expected_state = {"events": version, "amount": domain.expected_amount(1, version), "last_seq": version}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version FROM eventlog_snapshot WHERE stream_id = %s AND aggregate = %s", [stream.id, with_snap.name]
        )
        row = cursor.fetchone()
    snapshot_version = row[0] if row else None
    checks = [
        Check(
            "snapshot load and full replay agree",
            snap_result == full_result,
            f"snapshot: {snap_result}, replay: {full_result}",
        ),
        Check(
            "state equals the stream's recomputed totals",
            full_result == (expected_state, version),
            f"expected {(expected_state, version)}",
        ),
    ]
    speedup = full_s / snap_s if snap_s else None
    details = {
        "stream_events": version,
        "load_with_snapshot_ms": round(snap_s * 1000, 3),
        "load_without_snapshot_ms": round(full_s * 1000, 3),
        "snapshot_at_version": snapshot_version,
        "events_replayed_with_snapshot": version - (snapshot_version or 0),
        "replay_events_per_s": round(version / full_s) if full_s else None,
    }
    parameters = {
        "snapshot_every": plan.snapshot_every,
        "repeats": {"with_snapshot": 50, "without": 5},
        "statistic": "median",
    }
    return entry(
        "aggregate_load",
        f"aggregates.load of a {version}-event stream: snapshot vs full replay",
        vendor,
        speedup,
        "x faster with snapshot",
        Target(">=", 10, "snapshots should make loads cheap"),
        checks,
        gating=gating,
        parameters=parameters,
        details=details,
    )


# --- the peer baseline: our figures and pyeventsourcing's, in alternating rounds ------------------------------

PEER_SHAPES = ("append_single_1w", "append_single_16w", "append_batched", "catch_up_read")


def _peer_append_round(vendor: str, jobs: list[WriterJob], rec: Any) -> tuple[float, dict[str, Any], list[Check]]:
    from tests.benchmarks import peer

    load = run_load(vendor, jobs, [], writer_target=peer.peer_writer_main, max_position=lambda: peer.max_position(rec))
    rate, elapsed, events, appends = _throughput(load)
    checks = [
        Check(name, ok, detail) for name, ok, detail in peer.check_peer_writes(rec, load.writers, load.start_position)
    ]
    ok, detail = peer.durability(rec)
    checks.append(Check("peer: durable commits", ok, detail))
    return rate, _cpu_details(vendor, load, events, appends, elapsed), checks


def _cpu_summary(rounds: list[dict[str, Any]]) -> dict[str, float | None]:
    """Median CPU per event over the rounds: the client process(es), and the server (PostgreSQL)."""
    from tests.benchmarks.peer import median

    keys = ("writer_python_cpu_us_per_event", "writer_backend_cpu_us_per_event", "database_server_cpu_us_per_event")
    return {k: median([r.get(k) for r in rounds]) for k in keys if any(r.get(k) is not None for r in rounds)}


def bench_vs_peer(vendor: str, plan: Plan, shape: str) -> dict[str, Any]:
    """``shape`` measured on both sides, ours first, then the peer, ``plan.peer_rounds`` times; medians and
    their ratio ours / peer. Each side writes only its own table; every round is checked for correctness."""
    from tests.benchmarks import peer
    from tests.benchmarks.peer import median

    rec = peer.recorder(create=True)
    ours: list[float] = []
    theirs: list[float] = []
    ours_cpu: list[dict[str, Any]] = []
    peer_cpu: list[dict[str, Any]] = []
    ours_read_cpu: list[float] = []
    peer_read_cpu: list[float] = []
    checks: list[Check] = []
    parameters: dict[str, Any] = {
        "rounds": plan.peer_rounds,
        "order": "ours, peer, ours, peer, ...",
        "statistic": "median",
    }
    if shape == "catch_up_read":
        limit = plan.peer_read_events
        _seed_both(rec, limit)
        parameters.update(events=limit, batch_size=plan.catch_up_batch)
        from controlplane.eventlog.reader import GlobalReader

        parameters["order"] = "batch by batch: ours, peer, ours, peer, ... within each round"
        batch_size = plan.catch_up_batch
        # Warm-up on both sides (connections, statement caches, the pages of the first batch).
        GlobalReader(batch_size=batch_size).poll(0)
        peer.PeerReader(rec).poll(0, batch_size)
        for r in range(plan.peer_rounds):
            ours_reader = GlobalReader(batch_size=batch_size)
            peer_reader = peer.PeerReader(rec)
            polls = {
                "ours": lambda after, n, g=ours_reader: [(e.position, e) for e in g.poll(after, limit=n)],
                "peer": peer_reader.poll,
            }
            # after, seen, wall seconds, CPU seconds, positions increasing
            state = {side: [0, 0, 0.0, 0.0, True] for side in polls}
            while any(state[side][1] < limit for side in polls):
                for side, poll in polls.items():  # alternate batch by batch: the machine's noise hits both
                    after, seen = state[side][0], state[side][1]
                    if seen >= limit:
                        continue
                    cpu0, t0 = _cpu_now(), time.perf_counter()
                    got = poll(after, min(batch_size, limit - seen))
                    state[side][2] += time.perf_counter() - t0
                    state[side][3] += _cpu_now() - cpu0
                    if not got:
                        state[side][1] = limit + 1  # ran dry: reported by the check below
                        continue
                    state[side][4] = state[side][4] and got[0][0] > after
                    state[side][0], state[side][1] = got[-1][0], seen + len(got)
            for side, rates, cpus in (("ours", ours, ours_read_cpu), ("peer", theirs, peer_read_cpu)):
                _, seen, wall, cpu, increasing = state[side]
                rates.append(seen / wall)
                cpus.append(cpu / max(seen, 1) * 1e6)
                checks.append(
                    Check(
                        f"{side} round {r}: read the requested events, in order",
                        seen == limit and increasing,
                        f"{seen} of {limit}",
                    )
                )
    else:
        writers = {"append_single_1w": 1, "append_single_16w": plan.writers}.get(
            shape, 1 if vendor == "sqlite" else plan.batched_writers
        )
        batch = plan.batch if shape == "append_batched" else 1
        per_writer = max(1, plan.peer_batched_events // (writers * batch)) if batch > 1 else None
        parameters.update(
            writers=writers,
            events_per_append=batch,
            duration_s=None if per_writer else plan.peer_duration,
            appends_per_writer=per_writer,
        )
        round_plan = Plan(**{**plan.__dict__, "duration": plan.peer_duration})
        for r in range(plan.peer_rounds):
            entry_ours, rate = bench_appends(
                vendor, round_plan, f"{shape}-r{r}", shape, writers, batch, None, appends_per_writer=per_writer
            )
            ours.append(rate)
            ours_cpu.append(entry_ours["details"])
            checks += [Check(f"ours round {r}: {c['name']}", c["passed"], c["detail"]) for c in entry_ours["checks"]]
            jobs = writer_jobs(f"peer-{shape}-r{r}", writers, batch, plan.peer_duration, per_writer)
            rate, cpu, peer_checks = _peer_append_round(vendor, jobs, rec)
            theirs.append(rate)
            peer_cpu.append(cpu)
            checks += [Check(f"peer round {r}: {c.name}", c.passed, c.detail) for c in peer_checks]
    ours_median, peer_median = median(ours), median(theirs)
    ratio = ours_median / peer_median if ours_median and peer_median else None
    details = {
        "ours_events_per_s": [round(x) for x in ours],
        "peer_events_per_s": [round(x) for x in theirs],
        "ours_median_events_per_s": round(ours_median) if ours_median else None,
        "peer_median_events_per_s": round(peer_median) if peer_median else None,
        "ratio_per_round": [round(a / b, 3) if b else None for a, b in zip(ours, theirs, strict=True)],
        "ours_cpu_us_per_event": _cpu_summary(ours_cpu) if ours_cpu else _read_cpu(ours_read_cpu),
        "peer_cpu_us_per_event": _cpu_summary(peer_cpu) if peer_cpu else _read_cpu(peer_read_cpu),
        "peer": f"eventsourcing {_peer_version()}, {type(rec).__name__}",
    }
    return entry(
        f"{shape}_vs_peer",
        f"{shape}: ours / eventsourcing (medians of alternating rounds)",
        vendor,
        ratio,
        "x (ours / peer)",
        None,
        checks,
        gating=False,
        parameters=parameters,
        details=details,
    )


def _read_cpu(per_event: list[float]) -> dict[str, float | None]:
    """Catch-up runs in the suite's own process on both sides: the median of its CPU per event read."""
    from tests.benchmarks.peer import median

    m = median(per_event)
    return {"reader_python_cpu_us_per_event": round(m, 2) if m else None}


def _peer_installed() -> bool:
    from tests.benchmarks.peer import installed

    return installed()


def _peer_version() -> str:
    from importlib.metadata import version

    return version("eventsourcing")


def _seed_both(rec: Any, limit: int) -> None:
    """Make sure both tables hold at least ``limit`` events (written 100 per call) before a catch-up round."""
    from controlplane.eventlog.store import StreamRef, append
    from tests.benchmarks import domain, peer

    have = _max_position()
    stream = StreamRef(domain.STREAM_TYPE, f"seed-{int(time.time() * 1000) % 10_000_000}")
    meta = domain.metadata()
    version = 0
    while have + version < limit:
        append(stream, version, domain.events_for(version + 1, 100), meta)
        version += 100
    encoder = peer.Encoder()
    originator = peer.stream_uuid(stream.id)
    count = peer.max_position(rec)
    version = 0
    while count + version < limit:
        rec.insert_events(encoder.stored(originator, domain.events_for(version + 1, 100)))
        version += 100


# --- the suite per database ---------------------------------------------------------------------------------


def run_suite(plan: Plan) -> list[dict[str, Any]]:
    from django.db import connection

    vendor = connection.vendor
    results: list[dict[str, Any]] = []

    def gate(name: str) -> bool:
        return plan.gating and name not in plan.non_gating

    def wanted(name: str) -> bool:
        return not plan.only or name in plan.only

    def attempt(name: str, fn) -> Any:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        print(f"[{vendor}] {name} ...", file=sys.stderr, flush=True)
        try:
            out = fn()
        except Exception:
            text = traceback.format_exc()
            print(text, file=sys.stderr)
            out = entry(
                name,
                name,
                vendor,
                None,
                "",
                None,
                [Check("benchmark ran to the end", False, text[-2000:])],
                gating=gate(name),
            )
            results.append(out)
            return None
        items = out[0] if isinstance(out, tuple) else out
        items["details"]["wall_s"] = round(time.monotonic() - started, 1)
        results.append(items)
        print(
            f"[{vendor}] {name}: {items['figure']} {items['unit']} ({items['details']['wall_s']} s)",
            file=sys.stderr,
            flush=True,
        )
        return out

    # The peer comparisons first, so both sides start from empty tables of their own.
    for shape in PEER_SHAPES:
        if shape == "append_single_16w" and vendor == "sqlite":
            continue  # one writer at a time on SQLite (ADR 0002): 16 writers measure the lock, on both sides
        if plan.peer and (wanted(shape) or wanted(f"{shape}_vs_peer")):
            if not _peer_installed():
                results.append(
                    entry(
                        f"{shape}_vs_peer",
                        shape,
                        vendor,
                        None,
                        "",
                        None,
                        [Check("eventsourcing installed (pip install --group bench)", False)],
                        gating=False,
                    )
                )
                continue
            attempt(f"{shape}_vs_peer", lambda shape=shape: bench_vs_peer(vendor, plan, shape))

    single_target = {"sqlite": Target(">=", 6500)}.get(vendor, Target(">=", 3000))
    if wanted("append_single_1w"):
        attempt(
            "append_single_1w",
            lambda: bench_appends(
                vendor,
                plan,
                "append_single_1w",
                "Single-event appends, one writer",
                1,
                1,
                single_target,
                gating=gate("append_single_1w"),
            ),
        )
    if vendor != "sqlite":
        many: float | None = None
        if wanted("append_single_16w"):
            out = attempt(
                "append_single_16w",
                lambda: bench_appends(
                    vendor,
                    plan,
                    "append_single_16w",
                    f"Single-event appends, {plan.writers} writers on distinct streams",
                    plan.writers,
                    1,
                    Target(">=", 8000),
                    p99_target=Target("<", 5.0),
                    gating=gate("append_single_16w"),
                ),
            )
            many = out[1] if out else None
        if wanted("append_single_16w_4r"):
            base = Target(">=", 0.9 * many, "90% of append_single_16w") if many else Target(">=", 0.9 * 8000)
            attempt(
                "append_single_16w_4r",
                lambda: bench_appends(
                    vendor,
                    plan,
                    "append_single_16w_4r",
                    f"Single-event appends, {plan.writers} writers, "
                    f"with {plan.readers} tailing GlobalReader subscribers",
                    plan.writers,
                    1,
                    base,
                    readers=plan.readers,
                    lag_target=Target("<", 100.0),
                    gating=gate("append_single_16w_4r"),
                ),
            )
    batched_writers = 1 if vendor == "sqlite" else plan.batched_writers
    if wanted("append_batched"):
        per_writer = max(1, plan.batched_events // (batched_writers * plan.batch))
        attempt(
            "append_batched",
            lambda: bench_appends(
                vendor,
                plan,
                "append_batched",
                f"Batched appends ({plan.batch} events per append call)",
                batched_writers,
                plan.batch,
                Target(">=", 200_000 if vendor == "sqlite" else 100_000),
                appends_per_writer=per_writer,
                gating=gate("append_batched"),
            ),
        )
    if wanted("catch_up_read"):
        attempt("catch_up_read", lambda: bench_catch_up(vendor, plan, Target(">=", 250_000), gate("catch_up_read")))
    if wanted("projection_rebuild"):
        attempt(
            "projection_rebuild", lambda: bench_rebuild(vendor, plan, Target(">=", 120_000), gate("projection_rebuild"))
        )
    if wanted("aggregate_load"):
        attempt("aggregate_load", lambda: bench_aggregate(vendor, plan, gate("aggregate_load")))
    return results


def database_facts() -> dict[str, Any]:
    from django.db import connection

    vendor = connection.vendor
    facts: dict[str, Any] = {"vendor": vendor}
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SELECT version()")
            facts["version"] = cursor.fetchone()[0]
            for name in (
                "server_version",
                "fsync",
                "synchronous_commit",
                "wal_sync_method",
                "commit_delay",
                "shared_buffers",
                "max_connections",
                "data_directory",
            ):
                cursor.execute("SELECT current_setting(%s)", [name])
                facts[name] = cursor.fetchone()[0]
        elif vendor == "mysql":
            cursor.execute("SELECT VERSION()")
            facts["version"] = cursor.fetchone()[0]
            cursor.execute(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit', 'sync_binlog', "
                "'log_bin', 'innodb_buffer_pool_size', 'tx_isolation', 'transaction_isolation', 'datadir', "
                "'innodb_flush_method')"
            )
            facts.update(dict(cursor.fetchall()))
        else:
            cursor.execute("SELECT sqlite_version()")
            facts["version"] = cursor.fetchone()[0]
            for name in ("journal_mode", "synchronous"):
                cursor.execute(f"PRAGMA {name}")
                facts[name] = cursor.fetchone()[0]
            facts["file"] = str(connection.settings_dict["NAME"])
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--plan", default="{}", help="JSON object of Plan fields")
    args = parser.parse_args(argv)
    fields = json.loads(args.plan)
    for name in ("only", "non_gating"):
        if name in fields:
            fields[name] = set(fields[name])
    plan = Plan(**fields)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    import django

    django.setup()
    import tests.benchmarks.domain  # noqa: F401  (registers the benchmark event type in this process)

    facts = database_facts()
    results = run_suite(plan)
    with open(args.out, "w") as handle:
        json.dump({"database": facts, "benchmarks": results}, handle, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
