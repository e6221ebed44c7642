"""The raw-SQL ceiling of single-event appends on PostgreSQL: psycopg alone, no Django, no event log code.

``python -m tests.benchmarks.raw_ceiling --url postgres://postgres@127.0.0.1:5432/DB --writers 1 16``
against a database migrated for the control plane (it writes throwaway streams into ``eventlog_event``).
Each variant runs ``--seconds`` per writer count, one OS process per writer, every statement a durable
autocommit transaction:

- ``commit_floor``: ``INSERT INTO bench_raw_floor VALUES (1)``, a one-column table without an index: the
  cost of a durable commit and a round trip, nothing else.
- ``event_row``: one prepared ``INSERT`` of a complete event row (three indexes, the position default),
  values prepared beforehand: the table's own cost, without a stream head.
- ``append_statement``: what ``PostgresDialect`` sends for a single-event append to a stream whose head
  it knows (head compare-and-set + insert in one statement), hash computed in Python.
- ``append_function``: ``eventlog_append()`` (migration 0003), the server doing the hash chain.

It prints events/s and, per append, client CPU in µs. Compare with ``make bench``'s figures to see what
Django and the event log's Python add.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import resource
import time
from datetime import UTC, datetime

META = ("t-bench", None, "system", "bench", "", "", "", "")
PAYLOAD = '{"amount":1,"seq":1,"subject":"subject-with-a-realistic-name-0123456789"}'


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker(url: str, variant: str, index: int, seconds: float, start_at: float, out: multiprocessing.Queue) -> None:
    import psycopg

    from controlplane.eventlog import dialects

    conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
    cur = psycopg.Cursor(conn)
    stream = f"raw-{variant}-{index}-{time.time_ns()}"
    version, last_hash = 0, ""
    now = datetime.now(UTC)

    def event_hash(prev: str, v: int) -> str:
        parts = [prev, stream, str(v), "bench.something_happened", "1", PAYLOAD]
        parts += ["" if m is None else m for m in META] + ["1"]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def one() -> None:
        nonlocal version, last_hash
        if variant == "commit_floor":
            cur.execute("INSERT INTO bench_raw_floor VALUES (1)")
        elif variant == "event_row":
            cur.execute(
                f"INSERT INTO eventlog_event ({dialects.EVENT_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                ["bench.subject", stream, version + 1, "bench.something_happened", 1, PAYLOAD, *META, now, "h"],
            )
            version += 1
        elif variant == "append_statement":
            h = event_hash(last_hash, version + 1)
            params = dict(zip(dialects.PG_META_NAMES, META, strict=True))
            params.update(
                sid=stream,
                st="bench.subject",
                exp=version,
                last=version + 1,
                h=h,
                at=now,
                prev=last_hash,
                et="bench.something_happened",
                sv=1,
                p=PAYLOAD,
            )
            cur.execute(dialects.PG_APPEND_ONE_NEW if version == 0 else dialects.PG_APPEND_ONE, params)
            if len(cur.fetchall()) != 1:
                raise RuntimeError("the head was not where it should be")
            version, last_hash = version + 1, h
        else:
            cur.execute(
                "SELECT out_position FROM eventlog_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s::text[], %s::int[], %s::text[])",
                [stream, "bench.subject", version, *META, now, 1, ["bench.something_happened"], [1], [PAYLOAD]],
            )
            cur.fetchall()
            version += 1

    for _ in range(20):
        one()
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu0, t0, count = _cpu(), time.monotonic(), 0
    while time.monotonic() - t0 < seconds:
        one()
        count += 1
    out.put((count, time.monotonic() - t0, _cpu() - cpu0))
    conn.close()


def measure(url: str, variant: str, writers: int, seconds: float) -> tuple[float, float]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start_at = time.monotonic() + 1.5
    procs = [ctx.Process(target=_worker, args=(url, variant, i, seconds, start_at, out)) for i in range(writers)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join()
    count = sum(r[0] for r in results)
    rate = count / max(r[1] for r in results)
    return rate, sum(r[2] for r in results) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--variants", nargs="+", default=["commit_floor", "event_row", "append_statement", "append_function"]
    )
    args = parser.parse_args()
    import psycopg

    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_raw_floor (x int)")
    for writers in args.writers:
        for variant in args.variants:
            rate, cpu_us = measure(args.url, variant, writers, args.seconds)
            print(f"{variant:18} writers={writers:<3} {rate:10,.0f} appends/s  client CPU {cpu_us:6.1f} us/append")


if __name__ == "__main__":
    main()
