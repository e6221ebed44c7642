"""The emulator's cluster mode: several real member processes sharing one --cluster-dir (docs/EMULATOR.md)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from controlplane.seatunnel.client import ZetaClient
from controlplane.seatunnel.emulator.process import EmulatorMember, emulator_process
from controlplane.seatunnel.states import JobState
from tests.waiting import wait_until

# A short clock: restores wait job.retry.interval.seconds times 0.3, checkpoints come every 1000 ms times 0.3.
ARGS = ("--version", "3.0.0", "--time-scale", "0.3")


def streaming(**env: Any) -> dict:
    return {
        "env": {"job.mode": "STREAMING", "checkpoint.interval": 1000, **env},
        "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "schema": {"fields": {"a": "int"}}}],
        "sink": [{"plugin_name": "Console", "plugin_input": ["fake"]}],
    }


def until(what: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until `what()` is truthy and return it (the bound only stops a hang; nothing is timed)."""
    return wait_until(what, timeout=timeout, interval=0.1)


def submit(url: str, config: dict, **params: str) -> int:
    response = httpx.post(f"{url}/submit-job", params=params, content=json.dumps(config))
    assert response.status_code == 200, response.text
    return int(response.json()["jobId"])


def info(url: str, job_id: int) -> dict:
    return httpx.get(f"{url}/job-info/{job_id}").json()


def state(url: str, job_id: int) -> str:
    return info(url, job_id)["jobStatus"]


def members(url: str) -> list[tuple[str, str]]:
    """(port, isMaster) per member, as /system-monitoring-information lists them."""
    return [(m["port"], m["isMaster"]) for m in httpx.get(f"{url}/system-monitoring-information").json()]


def placement(url: str) -> dict[str, list[int]]:
    """/resource/workers as {address: [running job ids]}."""
    answer = httpx.get(f"{url}/resource/workers").json()
    assert answer["available"] is True
    return {w["address"]: [int(i) for i in w["runningJobIds"]] for w in answer["workers"]}


def worker_of(url: str, job_id: int) -> str | None:
    """Where the job's tasks run; None while its pipeline waits to be restored."""
    return next((address for address, ids in placement(url).items() if job_id in ids), None)


def restores(url: str, job_id: int) -> int:
    return info(url, job_id)["diagnostics"]["totalPipelineRestoreCount"]


@pytest.fixture
def cluster(tmp_path) -> Iterator[Callable[..., list[EmulatorMember]]]:
    """Start members in one cluster dir, oldest first; all of them are stopped at the end."""
    with ExitStack() as stack:

        def start(*roles: str, args: tuple[str, ...] = ARGS) -> list[EmulatorMember]:
            started = []
            for role in roles:
                member = EmulatorMember(tmp_path / "cluster", role=role, args=args)
                stack.enter_context(member)
                started.append(member)
            return started

        yield start


def test_any_member_serves_the_whole_clusters_jobs(cluster):
    a, b = cluster("hybrid", "hybrid")
    assert members(b.url) == [(str(a.port), "true"), (str(b.port), "false")]
    assert httpx.get(f"{a.url}/overview").json()["workers"] == "2"
    job_id = submit(a.url, streaming(), jobName="seen-everywhere")
    until(lambda: state(b.url, job_id) == "RUNNING")
    assert [int(j["jobId"]) for j in httpx.get(f"{b.url}/running-jobs").json()] == [job_id]
    assert f"Start submit job, job id: {job_id}" in httpx.get(f"{b.url}/logs/job-{job_id}.log").text
    httpx.post(f"{b.url}/stop-job", content=json.dumps({"jobId": job_id}))
    until(lambda: state(a.url, job_id) == "CANCELED")
    assert [int(j["jobId"]) for j in httpx.get(f"{a.url}/finished-jobs/CANCELED").json()] == [job_id]


def test_jobs_are_placed_on_the_least_loaded_worker(cluster):
    master, w1, w2 = cluster("master", "worker", "worker")
    monitoring = httpx.get(f"{w1.url}/system-monitoring-information").json()
    assert [(m["nodeRole"], m["isMaster"]) for m in monitoring] == [
        ("MASTER", "true"),
        ("WORKER", "false"),
        ("WORKER", "false"),
    ]
    assert httpx.get(f"{master.url}/overview").json()["workers"] == "2"
    first, second = submit(master.url, streaming()), submit(w2.url, streaming())
    assert placement(master.url) == {w1.address: [first], w2.address: [second]}  # never on the master-only member


def test_fixed_slots_are_per_worker_and_leave_with_it(cluster, tmp_path):
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"slots": 4}))  # each worker's slot-num; a job with parallelism 1 takes 3
    a, b = cluster("hybrid", "hybrid", args=(*ARGS, "--faults", str(plan)))
    first, second = submit(a.url, streaming()), submit(a.url, streaming())
    overview = httpx.get(f"{b.url}/overview").json()
    assert (overview["totalSlot"], overview["unassignedSlot"]) == ("8", "2")
    workers = httpx.get(f"{b.url}/resource/workers").json()["workers"]
    assert [(w["totalSlots"], w["freeSlots"], w["usedSlots"], w["dynamicSlot"]) for w in workers] == [
        (4, 1, 3, False),
        (4, 1, 3, False),
    ]
    third = submit(a.url, streaming())  # 9 > 8 slots: refused the engine's way
    refused = until(lambda: (i := info(a.url, third))["jobStatus"] == "FAILED" and i)
    assert "NoEnoughResourceException" in refused["errorMsg"]
    b.stop()
    overview = httpx.get(f"{a.url}/overview").json()
    assert (overview["workers"], overview["totalSlot"]) == ("1", "4")
    assert {first, second} == {int(j["jobId"]) for j in httpx.get(f"{a.url}/running-jobs").json()}


def test_a_stopped_members_streaming_job_restarts_elsewhere_and_savepoints_stay(cluster):
    a, b, c = cluster("hybrid", "hybrid", "hybrid")
    on_a = submit(a.url, streaming())
    paused = submit(a.url, streaming())
    until(lambda: state(a.url, paused) == "RUNNING")
    assert worker_of(a.url, paused) == b.address
    httpx.post(f"{a.url}/stop-job", content=json.dumps({"jobId": paused, "isStopWithSavePoint": True}))
    paused_info = until(lambda: (i := info(a.url, paused))["jobStatus"] == "SAVEPOINT_DONE" and i)
    moved = submit(a.url, streaming())  # b is the least loaded again (its only job is paused)
    until(lambda: state(a.url, moved) == "RUNNING")
    assert worker_of(a.url, moved) == b.address
    until(lambda: int(info(a.url, moved)["metrics"]["SourceReceivedCount"]) > 0)

    b.stop()
    assert str(b.port) not in [port for port, _ in members(a.url)]  # a clean stop leaves at once
    seen = []

    def restored() -> bool:
        current = info(c.url, moved)
        seen.append(current["jobStatus"])
        return current["diagnostics"]["pipelines"][0]["pipelineStatus"] == "RUNNING" and restores(c.url, moved) == 1

    until(restored)
    assert set(seen) == {"RUNNING"}  # the job stays RUNNING while its pipeline restores
    assert worker_of(a.url, moved) == c.address  # a carries on_a, so c was the least loaded
    assert worker_of(a.url, on_a) == a.address and restores(a.url, on_a) == 0
    assert info(a.url, moved)["diagnostics"]["pipelines"][0]["maxRestoreCount"] == 3
    assert "pipeline 1 restore from checkpoint (1/3)" in httpx.get(f"{a.url}/logs/job-{moved}.log").text

    untouched = info(c.url, paused)
    assert (untouched["jobStatus"], untouched["finishTime"]) == ("SAVEPOINT_DONE", paused_info["finishTime"])
    rows_at_pause = int(untouched["metrics"]["SourceReceivedCount"])
    submit(c.url, streaming(), jobId=str(paused), isStartWithSavePoint="true")
    resumed = until(lambda: (i := info(a.url, paused))["jobStatus"] == "RUNNING" and i)
    assert resumed["isStartWithSavePoint"] is True
    assert worker_of(a.url, paused) in (a.address, c.address)
    assert int(info(a.url, paused)["metrics"]["SourceReceivedCount"]) >= rows_at_pause


def test_a_job_fails_once_its_restores_are_used_up(cluster):
    a, b = cluster("hybrid", "hybrid")
    submit(a.url, streaming())  # a's load, so the next job goes to b
    job_id = submit(a.url, streaming(**{"job.retry.times": 1}))
    until(lambda: state(a.url, job_id) == "RUNNING")
    assert worker_of(a.url, job_id) == b.address

    b.kill()  # no goodbye: it drops out when its heartbeat ages
    until(lambda: str(b.port) not in [port for port, _ in members(a.url)])
    until(lambda: job_id in placement(a.url)[a.address])  # restored on the member that is left
    assert restores(a.url, job_id) == 1 and state(a.url, job_id) == "RUNNING"

    b.start()  # same port: it rejoins, and becomes the master once a goes
    until(lambda: len(members(a.url)) == 2)
    a.kill()
    failed = until(lambda: (i := info(b.url, job_id))["jobStatus"] == "FAILED" and i)
    assert f"deployed node([127.0.0.1]:{a.port}) offline" in failed["errorMsg"]
    assert job_id in [int(j["jobId"]) for j in httpx.get(f"{b.url}/finished-jobs/FAILED").json()]


def test_a_batch_job_on_a_lost_member_runs_again_from_the_start(cluster):
    a, b = cluster("hybrid", "hybrid")
    submit(a.url, streaming())
    batch = {
        "env": {"job.mode": "BATCH", "emulator.duration_ms": 6000},
        "source": [{"plugin_name": "FakeSource", "row.num": 600}],
        "sink": [{"plugin_name": "Console"}],
    }
    job_id = submit(a.url, batch)
    until(lambda: int(info(a.url, job_id)["metrics"]["SourceReceivedCount"]) > 0)
    assert worker_of(a.url, job_id) == b.address
    b.kill()
    finished = until(lambda: (i := info(a.url, job_id))["jobStatus"] == "FINISHED" and i, timeout=30)
    assert finished["metrics"]["SourceReceivedCount"] == "600"
    log = httpx.get(f"{a.url}/logs/job-{job_id}.log").text
    assert "pipeline 1 restore from the start (1/3)" in log and ") offline" in log


def test_killing_the_master_makes_the_next_member_master(cluster):
    a, b = cluster("hybrid", "hybrid")
    submit(b.url, streaming())  # on a
    job_id = submit(b.url, streaming())  # on b
    until(lambda: state(b.url, job_id) == "RUNNING")
    assert members(b.url)[0] == (str(a.port), "true")
    a.kill()
    assert until(lambda: members(b.url) == [(str(b.port), "true")])
    assert state(b.url, job_id) == "RUNNING" and restores(b.url, job_id) == 0  # its tasks were not on a
    log = httpx.get(f"{b.url}/logs/job-{job_id}.log").text
    assert f"begin restore job ({job_id}) from master active switch" in log
    assert 'master="127.0.0.1:' + str(b.port) + '"' in httpx.get(f"{b.url}/metrics").text


def test_a_member_restarted_before_anyone_noticed_still_loses_its_tasks(cluster):
    a, b = cluster("hybrid", "hybrid")
    submit(a.url, streaming())
    job_id = submit(a.url, streaming())
    until(lambda: state(a.url, job_id) == "RUNNING")
    assert worker_of(a.url, job_id) == b.address
    b.kill()
    b.start()  # at once: its heartbeat has not aged, but it is a new process
    assert sorted(port for port, _ in members(a.url)) == sorted([str(a.port), str(b.port)])
    until(lambda: restores(a.url, job_id) == 1)
    until(lambda: info(a.url, job_id)["diagnostics"]["pipelines"][0]["pipelineStatus"] == "RUNNING")


def pause(member: EmulatorMember, db: Path) -> None:
    """SIGSTOP the member, at a moment it holds no write lock on the shared file (else the cluster would wait)."""
    assert member.process is not None
    process = member.process

    def stopped_between_transactions() -> bool:
        process.send_signal(signal.SIGSTOP)
        conn = sqlite3.connect(db, timeout=0.0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # caught mid-transaction: let it finish and try again
            process.send_signal(signal.SIGCONT)
            return False
        finally:
            conn.close()

    wait_until(stopped_between_transactions, interval=0.05, message="the member stopped holding no write lock")


def test_a_member_paused_past_the_window_rejoins_as_the_youngest(cluster, tmp_path):
    a, b = cluster("hybrid", "hybrid")
    job_id = submit(b.url, streaming())
    until(lambda: state(b.url, job_id) == "RUNNING")
    assert worker_of(b.url, job_id) == a.address
    assert a.process is not None
    pause(a, tmp_path / "cluster" / "cluster.sqlite3")  # a long GC pause, say
    try:
        until(lambda: members(b.url) == [(str(b.port), "true")])
    finally:
        a.process.send_signal(signal.SIGCONT)
    until(lambda: len(members(b.url)) == 2)
    assert members(a.url) == [(str(b.port), "true"), (str(a.port), "false")]  # b stays master
    until(lambda: restores(b.url, job_id) == 1)


def test_the_client_reaches_the_cluster_while_one_endpoint_is_down(cluster):
    a, b = cluster("hybrid", "hybrid")
    with ZetaClient([a.url, b.url], timeout=3.0, retries=1, backoff=0.05) as client:
        first = client.submit_job(streaming(), job_name="before").job_id
        a.stop()
        assert client.overview().workers == 1
        second = client.submit_job(streaming(), job_name="after").job_id
        until(lambda: client.job_info(second).state is JobState.RUNNING)
        assert {j.job_id for j in client.running_jobs()} == {first, second}
        until(lambda: client.job_info(first).state is JobState.RUNNING)  # restored on b: a took its tasks along
        client.stop_job(first, savepoint=True)
        until(lambda: client.job_info(first).state is JobState.SAVEPOINT_DONE)
        a.start()
        b.stop()
        assert len(client.system_monitoring()) == 1
        client.submit_job(streaming(), job_id=first, start_with_savepoint=True)
        until(lambda: client.job_info(first).state is JobState.RUNNING)


def test_without_a_master_the_cluster_says_so_and_without_workers_jobs_fail(cluster):
    (worker,) = cluster("worker")
    answer = httpx.get(f"{worker.url}/overview")
    assert (answer.status_code, answer.json()["message"]) == (500, "cluster have no master node")
    assert httpx.get(f"{worker.url}/resource/workers").json()["available"] is False
    assert members(worker.url) == [(str(worker.port), "false")]
    worker.stop()
    (master,) = cluster("master")
    job_id = submit(master.url, streaming())
    failed = until(lambda: (i := info(master.url, job_id))["jobStatus"] == "FAILED" and i)
    assert "NoEnoughResourceException" in failed["errorMsg"]


def test_one_process_keeps_its_answers():
    with emulator_process("--version", "3.0.0") as emu:
        job_id = submit(emu.url, streaming())
        (worker,) = httpx.get(f"{emu.url}/resource/workers").json()["workers"]
        assert worker["address"] == "127.0.0.1:5801" and worker["runningJobIds"] == [str(job_id)]
        assert httpx.get(f"{emu.url}/emulator/cluster").status_code == 404  # cluster mode only
    with emulator_process() as emu:  # 2.3.x has no placement endpoint and no diagnostics
        assert httpx.get(f"{emu.url}/resource/workers").status_code == 404
        job_id = submit(emu.url, streaming())
        assert "diagnostics" not in info(emu.url, job_id)


def test_members_file_and_cluster_dir_exclude_each_other(tmp_path):
    command = [sys.executable, "-m", "controlplane.seatunnel.emulator", "--port", "0", "--members", "m.json"]
    result = subprocess.run(
        [*command, "--cluster-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "--cluster-dir" in result.stderr
