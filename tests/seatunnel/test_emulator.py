"""The emulator as a process, spoken to over plain HTTP: the REST v2 (and v1) contract of ZETA_FACTS §1-2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

from controlplane.seatunnel.emulator.process import emulator_process
from tests.waiting import wait_until

BATCH = {
    "env": {"job.mode": "BATCH", "parallelism": 2},
    "source": [
        {
            "plugin_name": "FakeSource",
            "plugin_output": "fake",
            "row.num": 200,
            "schema": {"fields": {"name": "string", "age": "int"}},
        }
    ],
    "transform": [],
    "sink": [{"plugin_name": "Console", "plugin_input": ["fake"]}],
}
LOG_LINE = re.compile(r"^\[(\d+)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARN|ERROR) +\[[^\]]+\] \[[^\]]+\] - .+")


@pytest.fixture(scope="module")
def emu():
    with emulator_process() as running:
        yield running


def wait_state(url: str, job_id: int, states: set[str], timeout: float = 8.0) -> dict:
    last: dict = {}

    def arrived() -> dict | None:
        last["info"] = httpx.get(f"{url}/job-info/{job_id}").json()
        return last["info"] if last["info"].get("jobStatus") in states else None

    return wait_until(
        arrived,
        timeout=timeout,
        interval=0.1,
        message=lambda: f"job in {states}, in {last['info'].get('jobStatus')}",
    )


def submit(url: str, config: dict, **params: str) -> int:
    response = httpx.post(f"{url}/submit-job", params=params, content=json.dumps(config))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    match = re.search(r'"jobId":\s*"(\d+)"', response.text)  # a string (BaseServlet.submitJobInternal)
    assert match
    return int(match.group(1))


def test_help_says_it_is_not_an_engine():
    out = subprocess.run(
        [sys.executable, "-m", "controlplane.seatunnel.emulator", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "NOT an engine" in out
    assert "--faults" in out


def test_overview_values_are_strings(emu):
    data = httpx.get(f"{emu.url}/overview").json()
    for key in ("projectVersion", "gitCommitAbbrev", "totalSlot", "unassignedSlot", "workers", "runningJobs"):
        assert isinstance(data[key], str)
    assert data["projectVersion"] == "2.3.12"
    assert {"finishedJobs", "failedJobs", "cancelledJobs", "pendingJobs"} <= set(data)


def test_batch_job_runs_to_finished_with_growing_metrics(emu):
    job_id = submit(emu.url, BATCH, jobName="batch-shape")
    assert job_id > 2**53
    running = wait_state(emu.url, job_id, {"RUNNING"})
    assert running["jobId"] == str(job_id)
    assert running["isStartWithSavePoint"] is False
    assert {"envOptions", "pluginJarsUrls", "jobDag", "createTime"} <= set(running)
    first = int(running["metrics"]["SourceReceivedCount"])
    listed = httpx.get(f"{emu.url}/running-jobs").json()
    entry = next(e for e in listed if e["jobId"] == str(job_id))
    assert {"SourceReceivedCount", "SinkWriteCount"} <= set(entry["metrics"])  # RunningJobsServlet.convertToJson
    done = wait_state(emu.url, job_id, {"FINISHED"})
    metrics = done["metrics"]
    assert int(metrics["SourceReceivedCount"]) == 400 >= first  # row.num per reader x parallelism
    assert int(metrics["SinkWriteCount"]) == 400
    assert int(metrics["SourceReceivedBytes"]) > 0
    assert metrics["TableSourceReceivedCount"] == {"fake": "400"}
    assert "finishTime" in done and done["errorMsg"] is None  # RestConstant.FINISH_TIME
    assert "envOptions" not in done
    finished = httpx.get(f"{emu.url}/finished-jobs/FINISHED").json()
    row = next(e for e in finished if e["jobId"] == str(job_id))
    assert row["jobStatus"] == "FINISHED" and row["finishTime"]
    assert any(e["jobId"] == str(job_id) for e in httpx.get(f"{emu.url}/finished-jobs").json())
    assert not any(e["jobId"] == str(job_id) for e in httpx.get(f"{emu.url}/finished-jobs/FAILED").json())
    assert httpx.get(f"{emu.url}/running-job/{job_id}").json()["jobStatus"] == "FINISHED"


def test_unknown_and_malformed_ids(emu):
    assert httpx.get(f"{emu.url}/job-info/42").json() == {"jobId": "42"}  # JobInfoServlet
    bad = httpx.get(f"{emu.url}/job-info/abc")
    assert bad.status_code == 400
    assert bad.json() == {"status": "fail", "message": 'For input string: "abc"'}
    stop = httpx.post(f"{emu.url}/stop-job", content=json.dumps({"jobId": 9007199254740993}))
    assert stop.status_code == 200
    assert '"jobId": "9007199254740993"' in stop.text  # StopJobServlet: map.get(JOB_ID).toString()


def test_error_bodies(emu):
    empty = httpx.post(f"{emu.url}/submit-job")
    assert (empty.status_code, empty.json()["message"]) == (400, "Request body is empty.")
    broken = httpx.post(f"{emu.url}/submit-job", content=b"env { }")
    assert (broken.status_code, broken.json()["message"]) == (400, "Invalid JSON format in request body.")
    resume = httpx.post(f"{emu.url}/submit-job", params={"isStartWithSavePoint": "true"}, content=json.dumps(BATCH))
    assert resume.status_code == 400
    assert resume.json() == {"status": "fail", "message": "Please provide jobId when start with save point."}
    plugin = dict(BATCH, sink=[{"plugin_name": "NoSuchSink"}])
    rejected = httpx.post(f"{emu.url}/submit-job", content=json.dumps(plugin))
    assert rejected.status_code == 500
    assert rejected.json()["message"] == (
        "Plugin PluginIdentifier{engineType='seatunnel', pluginType='sink', pluginName='NoSuchSink'} not found."
    )
    # FinishedJobsServlet does not validate the state: an unknown one matches nothing
    state = httpx.get(f"{emu.url}/finished-jobs/DONE")
    assert (state.status_code, state.json()) == (200, [])
    assert httpx.post(f"{emu.url}/stop-job", content=b"{}").json()["message"] == "jobId cannot be empty."
    assert httpx.get(f"{emu.url}/no-such-path").status_code == 404


def test_logs_monitoring_and_metrics(emu):
    job_id = submit(emu.url, BATCH)
    wait_state(emu.url, job_id, {"FINISHED"})  # a finished job's log no longer grows between two reads
    files = httpx.get(f"{emu.url}/logs", params={"format": "json"}).json()
    assert {"node", "logLink", "logName"} <= set(files[0])
    assert f"job-{job_id}.log" in {f["logName"] for f in files}
    assert "<html>" in httpx.get(f"{emu.url}/logs").text
    listing = httpx.get(f"{emu.url}/logs/{job_id}", params={"format": "json"}).json()  # a listing, not the text
    assert [entry["logName"] for entry in listing] == [f"job-{job_id}.log"]
    lines = httpx.get(listing[0]["logLink"]).text.strip().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines)
    assert all(LOG_LINE.match(line).group(1) == str(job_id) for line in lines)
    assert httpx.get(f"{emu.url}/logs/job-{job_id}.log").text.strip().splitlines() == lines
    members = httpx.get(f"{emu.url}/system-monitoring-information").json()
    assert len(members) == 1 and all(isinstance(v, str) for v in members[0].values())
    assert "heap.memory.used/max" in members[0]
    text = httpx.get(f"{emu.url}/metrics").text
    assert 'job_count{cluster="seatunnel",type="running"}' in text
    assert "node_count" in text and "# TYPE cluster_info gauge" in text


def test_context_path_and_basic_auth():
    with emulator_process("--context-path", "/seatunnel", "--basic-auth", "admin:secret") as emu:
        anonymous = httpx.get(f"{emu.url}/seatunnel/overview")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="SeaTunnel Web UI"'
        assert httpx.get(f"{emu.url}/seatunnel/overview", auth=("admin", "nope")).status_code == 401
        assert httpx.get(f"{emu.url}/seatunnel/overview", auth=("admin", "secret")).status_code == 200
        assert httpx.get(f"{emu.url}/overview", auth=("admin", "secret")).status_code == 404


def test_old_version_serves_only_v1_paths():
    with emulator_process("--version", "2.3.8") as emu:
        assert httpx.get(f"{emu.url}/overview").status_code == 404
        data = httpx.get(f"{emu.url}/hazelcast/rest/maps/overview").json()
        assert data["projectVersion"] == "2.3.8" and "pendingJobs" not in data
        assert httpx.get(f"{emu.url}/hazelcast/rest/instance/metrics").status_code == 200


def test_a_hocon_body_never_reads_the_emulators_environment_or_files(monkeypatch, tmp_path):
    """The emulator runs beside the control plane (`make run`): its HOCON reader is the control plane's."""
    secret = "emulator-host-secret-91d2"
    monkeypatch.setenv("LEAK", secret)
    leak_file = tmp_path / "leak.conf"
    leak_file.write_text(f'leaked = "{secret}"\n')
    body = (  # the engine's REST shape written as HOCON: plugin lists with plugin_name
        'env { job.mode = "STREAMING", leak = ${?LEAK} }\n'
        'source = [{ plugin_name = FakeSource, plugin_output = "fake", row.num = 1000000, split.read-interval = 10,\n'
        '  schema = { fields { name = "string" } } }]\nsink = [{ plugin_name = Console, plugin_input = "fake" }]\n'
    )
    with emulator_process() as running:  # started after LEAK is set: the process inherits it
        response = httpx.post(f"{running.url}/submit-job", params={"format": "hocon"}, content=body)
        assert response.status_code == 200, response.text
        job_id = int(re.search(r'"jobId":\s*"?(\d+)', response.text).group(1))
        info = wait_state(running.url, job_id, {"RUNNING"})
        assert info["envOptions"]["leak"] == "${?LEAK}"
        assert secret not in json.dumps(info)
        included = httpx.post(
            f"{running.url}/submit-job", params={"format": "hocon"}, content=f'include "{leak_file}"\n' + body
        )
        assert included.status_code == 400
        assert secret not in included.text
        httpx.post(f"{running.url}/stop-job", content=json.dumps({"jobId": job_id}))
