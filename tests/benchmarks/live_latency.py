"""Live latency: from an event's append (committed) to its arrival at a websocket client through daphne.

``python -m tests.benchmarks.live_latency --postgres postgres://… --redis redis://… --report var/bench/latest.json``
creates a ``bench_live`` database on that server and migrates it, seeds a tenant with a viewer and an API token,
then measures twice, each time with a fresh daphne process serving ``controlplane.asgi``:

- ``redis``: daphne with ``CONTROLPLANE_REDIS_URL`` (the writer announces each commit; the tailer wakes at once);
- ``embedded``: daphne without Redis (the tailer polls the log every 150 ms, the default).

A client process follows the tenant's activity feed over a real websocket (the ``websockets`` package). The
writer (this process) appends one event at a time at a steady rate and notes ``time.monotonic()`` when the
append has returned (committed); the client notes the same clock when each message arrives (one clock for every
process of the machine). Latency = arrival - commit, p50/p95/p99 over every event. Correct means every event
arrived exactly once, in order. The figures go into the report's ``live_latency`` entry (aim: p95 < 200 ms with
Redis, issue #5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TARGET_P95_MS = 200.0


def client(url: str, token: str, count: int, ready_file: str) -> None:
    """Child process: follow the feed, print {position: arrival} once ``count`` messages arrived."""
    from websockets.sync.client import connect

    arrivals: list[tuple[int, float]] = []
    with connect(url, subprotocols=["controlplane.live.v1", f"bearer.{token}"], open_timeout=60) as socket:
        Path(ready_file).write_text("ready")
        while len(arrivals) < count:
            text = socket.recv(timeout=120)
            now = time.monotonic()
            arrivals.append((json.loads(text)["position"], now))
    print(json.dumps(arrivals))


def seed() -> tuple[str, str]:
    """A tenant (slug ``bench``) and an API token of a viewer: (tenant id, token plaintext)."""
    from django.contrib.auth.models import User

    from controlplane.eventlog.metadata import Metadata
    from controlplane.iam import actions as iam
    from controlplane.tenancy import actions as tenancy
    from controlplane.tenancy.models import Tenant

    meta = Metadata.for_system(None, reason="bench")
    tenant_id = tenancy.do_create_tenant(metadata=meta, name="Bench", slug="bench")
    tenancy.do_create_workspace(metadata=meta, tenant_id=tenant_id, name="Main", slug="main")
    tenant = Tenant.objects.get(id=tenant_id)
    viewer = User.objects.create_user("bench-viewer")
    iam.do_grant_role(user=viewer, tenant=tenant, role="viewer", metadata=Metadata.for_system(None, reason="bench"))
    _, token = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"), user=viewer, tenant=tenant, name="bench"
    )
    return tenant_id, token


def measure(
    phase: str, database_url: str, redis_url: str | None, tenant_id: str, token: str, events: int, rate: float
) -> dict[str, Any]:
    from controlplane.eventlog import store
    from controlplane.eventlog.metadata import Actor, Metadata
    from controlplane.eventlog.store import StreamRef
    from controlplane.live import commit_notices
    from tests.benchmarks.stats import latency_summary_ms
    from tests.eventlog.events import ThingHappened
    from tests.live.servers import Daphne

    if redis_url:
        commit_notices.install(redis_url)
    else:
        commit_notices.uninstall()
    daphne = Daphne(redis_url=redis_url, database=database_url)
    ready = ROOT / "var" / "bench" / f"live-client-{phase}.ready"
    ready.unlink(missing_ok=True)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.live_latency",
            "--client",
            json.dumps([daphne.url("/ws/v1/tenants/bench/activity/"), token, events, str(ready)]),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def connected() -> bool:
            if child.poll() is not None:
                raise RuntimeError(f"the websocket client exited with {child.returncode}:\n{daphne.output()}")
            return ready.exists()

        wait_until(connected, timeout=60, interval=0.05, message=lambda: f"the websocket client:\n{daphne.output()}")
        meta = Metadata(tenant_id=tenant_id, actor=Actor(kind="system", id="bench"))
        stream = StreamRef(type="jobs.job", id=f"job-bench-{phase}")
        committed: dict[int, float] = {}
        interval = 1 / rate
        start = time.monotonic()
        for n in range(events):
            due = start + n * interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # pacing: events at the rate under test
            (recorded,) = store.append(stream, n, [ThingHappened(n=n)], meta)
            committed[recorded.position] = time.monotonic()
        elapsed = time.monotonic() - start
        out, _ = child.communicate(timeout=180)
        arrivals = json.loads(out)
    finally:
        if child.poll() is None:
            child.kill()
        daphne.stop()
        ready.unlink(missing_ok=True)
    positions = [p for p, _ in arrivals]
    correct = positions == sorted(committed)
    latencies = [at - committed[p] for p, at in arrivals if p in committed]
    return {
        "phase": phase,
        "wake_ups": "redis" if redis_url else "polling (CONTROLPLANE_LIVE_POLL_MILLISECONDS default 150)",
        "events": events,
        "rate_per_s": round(events / elapsed, 1),
        "latency_ms": latency_summary_ms(latencies),
        "correct": correct,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """In a child process whose CONTROLPLANE_DATABASE_URL is the migrated benchmark database."""
    import django

    django.setup()
    tenant_id, token = seed()
    database_url = os.environ["CONTROLPLANE_DATABASE_URL"]
    phases = [
        measure("redis", database_url, args.redis, tenant_id, token, args.events, args.rate),
        measure("embedded", database_url, None, tenant_id, token, args.events, args.rate),
    ]
    redis = phases[0]["latency_ms"]["p95"]
    return {
        "id": "live_latency",
        "what": "append committed -> message at a websocket client, through daphne (tenant activity feed)",
        "target": {"p95_ms_with_redis": TARGET_P95_MS},
        "met": redis is not None and redis < TARGET_P95_MS,
        "phases": phases,
        "correct": all(p["correct"] for p in phases),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test", help="server URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for the wake-up notices")
    parser.add_argument("--db-name", default="bench_live", help="database created and dropped for the run")
    parser.add_argument("--events", type=int, default=3000, help="events per phase")
    parser.add_argument("--rate", type=float, default=200.0, help="appends per second")
    parser.add_argument("--report", default=str(ROOT / "var" / "bench" / "latest.json"))
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        client(*json.loads(args.client))
        return 0
    if args.child:
        print(json.dumps(run(args)))
        return 0

    from tests.benchmarks.scratch import scratch_database, write_report

    # The phases choose Redis or not; the writer announces only in the Redis phase.
    with scratch_database(args.postgres, args.db_name, "data-live") as (env, _):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.benchmarks.live_latency",
                "--child",
                "--redis",
                args.redis,
                "--events",
                str(args.events),
                "--rate",
                str(args.rate),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        result: dict[str, Any] = {"id": "live_latency", "error": f"exited with {done.returncode}", "correct": False}
    else:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    return write_report(args.report, "live_latency", result)


if __name__ == "__main__":
    sys.exit(main())
