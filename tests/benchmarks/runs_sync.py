"""Runs synced per second: 1,000 active runs across 10 emulated clusters (``make bench``, after the event log).

``python -m tests.benchmarks.runs_sync --postgres postgres://… --report var/bench/latest.json`` creates a
``bench_runs`` database on that server, migrates it, starts 10 Zeta emulator processes, and in a child process:
submits 100 streaming runs per cluster through the worker's code, then measures the sync loop (one
``/running-jobs`` + one ``/finished-jobs`` per cluster per pass) in three phases: the first pass (every run
SUBMITTING -> RUNNING: 1,000 state changes), steady passes (nothing changes, live metrics refreshed), and the
passes after every run was stopped (RUNNING/STOPPING -> STOPPED). Correctness: every run is RUNNING after the
first phase and STOPPED at the end, each engine holds exactly its 100 jobs under our ids (nothing submitted twice),
and the sync made two engine requests per cluster per pass. The figures go into the report's ``runs_sync`` entry.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLUSTERS = 10
RUNS_PER_CLUSTER = 100
STEADY_PASSES = 5
STREAMING = """
env { job.mode = "STREAMING", parallelism = 1 }
source { FakeSource { plugin_output = "t", row.num = 1000000, split.read-interval = 50,
  schema = { fields { id = "bigint", name = "string" } } } }
sink { Console { plugin_input = "t" } }
"""


def measure(urls: list[str]) -> dict[str, Any]:
    """Runs in the child process, with CONTROLPLANE_DATABASE_URL pointing at the migrated benchmark database."""
    import django

    django.setup()
    from controlplane.clusters import actions as clusters
    from controlplane.eventlog.metadata import Metadata
    from controlplane.eventlog.models import Event
    from controlplane.jobs import actions as jobs
    from controlplane.jobs import run_actions, runner, selectors
    from controlplane.jobs.models import Job, Run
    from controlplane.seatunnel import client as zeta
    from controlplane.tenancy import actions as tenancy
    from tests.waiting import wait_until

    requests = {"n": 0}
    original = zeta.ZetaClient._call

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        requests["n"] += 1
        return original(self, *args, **kwargs)

    zeta.ZetaClient._call = counting  # count engine requests per sync pass (measurement only)
    run_actions.transaction.on_commit = lambda fn, using=None, robust=False: None  # the bench plays the worker

    meta = Metadata.for_system(None, reason="bench")
    tenant = tenancy.do_create_tenant(metadata=meta, name="Bench", slug="bench")
    workspace = tenancy.do_create_workspace(metadata=meta, tenant_id=tenant, name="Bench", slug="bench")
    runs: list[str] = []
    for index, url in enumerate(urls):
        cluster = clusters.do_register_cluster(
            metadata=meta,
            tenant_id=tenant,
            workspace_id=workspace,
            name=f"zeta-{index}",
            form="bare_metal",
            mode="hybrid",
            endpoints=[url],
        )
        job_id = jobs.do_create_job(
            metadata=meta,
            tenant_id=tenant,
            workspace_id=workspace,
            name=f"stream-{index}",
            cluster_id=cluster,
            config=STREAMING,
        )
        job = Job.unscoped.get(id=job_id)
        runs += [run_actions.do_start_run(metadata=meta, job=job, allow_overlap=True) for _ in range(RUNS_PER_CLUSTER)]

    t0 = time.perf_counter()
    worker = Metadata.for_system(tenant, reason="jobs.submit_run", workspace_id=workspace)
    for run_id in runs:
        runner.submit(Run.unscoped.get(id=run_id), 0, metadata=worker)
    submit_s = time.perf_counter() - t0

    def engine_states() -> list[set[str]]:
        """Per engine, the states of the jobs it holds (outside the measured passes: their requests are not counted
        against them)."""
        states = []
        for url in urls:
            with zeta.ZetaClient(url) as client:
                states.append({str(j.state) for j in client.running_jobs() + client.finished_jobs()})
        return states

    wait_until(
        lambda: all(s == {"RUNNING"} for s in engine_states()),
        timeout=120,
        interval=0.1,
        message=lambda: f"every engine's jobs RUNNING: {engine_states()}",
    )

    def sync_pass() -> tuple[float, int, int]:
        before = requests["n"]
        start = time.perf_counter()
        clusters_watched = selectors.watched_clusters_for_system()
        changed = sum(runner.sync_cluster(cluster_id).changed for cluster_id in clusters_watched)
        return time.perf_counter() - start, changed, requests["n"] - before

    first_s, first_changed, first_requests = sync_pass()
    running_after_first = Run.unscoped.filter(state="RUNNING").count()
    steady = [sync_pass() for _ in range(STEADY_PASSES)]

    for run_id in runs:
        run = Run.unscoped.get(id=run_id)
        run_actions.do_stop_run(metadata=meta, run=run)
        runner.stop(run, metadata=worker)
    wait_until(
        lambda: all(s == {"CANCELED"} for s in engine_states()),
        timeout=120,
        interval=0.1,
        message=lambda: f"every engine's jobs CANCELED: {engine_states()}",
    )
    stop_passes = []
    while Run.unscoped.exclude(state="STOPPED").exists() and len(stop_passes) < 10:
        stop_passes.append(sync_pass())
    stopped = Run.unscoped.filter(state="STOPPED").count()

    copies = 0
    ours = {r.engine_job_id for r in Run.unscoped.all()}
    for url in urls:
        with zeta.ZetaClient(url) as client:
            copies += sum(1 for j in client.finished_jobs() + client.running_jobs() if j.job_id in ours)

    total = len(runs)
    steady_s = sum(s for s, _, _ in steady) / len(steady)
    stop_s = sum(s for s, _, _ in stop_passes)
    stop_changed = sum(c for _, c, _ in stop_passes)
    requests_per_pass = {p[2] for p in [*steady, *stop_passes]}
    correct = (
        running_after_first == total
        and first_changed == total
        and all(c == 0 for _, c, _ in steady)
        and stopped == total
        and stop_changed == total
        and copies == total
        and requests_per_pass == {2 * CLUSTERS}
    )
    return {
        "id": "runs_sync",
        "runs": total,
        "clusters": CLUSTERS,
        "submits_per_s": round(total / submit_s, 1),
        "first_pass": {"seconds": round(first_s, 3), "runs_per_s": round(total / first_s, 1), "changed": first_changed},
        "steady_pass": {"seconds": round(steady_s, 3), "runs_per_s": round(total / steady_s, 1)},
        "stop_passes": {
            "passes": len(stop_passes),
            "seconds": round(stop_s, 3),
            "runs_per_s": round(stop_changed / stop_s, 1) if stop_s else None,
            "changed": stop_changed,
        },
        "engine_requests_per_pass": sorted(requests_per_pass),
        "first_pass_engine_requests": first_requests,
        "events_written": Event.objects.filter(stream_type="jobs.run").count(),
        "correct": correct,
        "checks": {
            "running_after_first_pass": running_after_first,
            "stopped_at_end": stopped,
            "engine_copies_of_our_jobs": copies,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test", help="server URL")
    parser.add_argument("--db-name", default="bench_runs", help="database created and dropped for the run")
    parser.add_argument("--report", default=str(ROOT / "var" / "bench" / "latest.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return 0

    from controlplane.seatunnel.emulator.process import emulator_process
    from tests.benchmarks.scratch import scratch_database, write_report

    with scratch_database(args.postgres, args.db_name, "data-runs") as (env, _), ExitStack() as stack:
        urls = [stack.enter_context(emulator_process()).url for _ in range(CLUSTERS)]
        done = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.runs_sync", "--child", json.dumps(urls)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        result: dict[str, Any] = {"id": "runs_sync", "error": f"exited with {done.returncode}", "correct": False}
    else:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    return write_report(args.report, "runs_sync", result)


if __name__ == "__main__":
    sys.exit(main())
