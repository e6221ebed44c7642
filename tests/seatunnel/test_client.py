"""ZetaClient against real emulator processes: typed results, state transitions, errors, fail-over, v1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable

import pytest

from controlplane.seatunnel.client import (
    JobInfo,
    ZetaAuthFailed,
    ZetaClient,
    ZetaJobNotFound,
    ZetaRequestRejected,
    ZetaSubmitOutcomeUnknown,
    ZetaUnreachable,
    ZetaUnsupported,
)
from controlplane.seatunnel.emulator import faults
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.seatunnel.states import JobState
from tests.waiting import wait_until


def fake_source(mode: str = "BATCH", rows: int = 100, **env: object) -> dict:
    return {
        "env": {"job.mode": mode, "parallelism": 1, **env},
        "source": [
            {"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": rows, "schema": {"fields": {"a": "int"}}}
        ],
        "transform": [],
        "sink": [{"plugin_name": "Console", "plugin_input": ["fake"]}],
    }


def jdbc_to_console(driver: str = "com.mysql.cj.jdbc.Driver") -> dict:
    return {
        "env": {"job.mode": "BATCH"},
        "source": [
            {
                "plugin_name": "Jdbc",
                "url": "jdbc:mysql://db:3306/app",
                "driver": driver,
                "user": "u",
                "password": "p",
                "query": "select 1",
            }
        ],
        "sink": [{"plugin_name": "Console"}],
    }


def wait_for(client: ZetaClient, job_id: int, *states: JobState, timeout: float = 8.0) -> JobInfo:
    last: dict[str, JobInfo] = {}

    def arrived() -> JobInfo | None:
        last["info"] = client.job_info(job_id)
        return last["info"] if last["info"].state in states else None

    return wait_until(
        arrived, timeout=timeout, interval=0.1, message=lambda: f"job in {states}, stuck in {last['info'].state}"
    )


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture(scope="module")
def emu():
    with emulator_process() as running:
        yield running


@pytest.fixture
def client(emu):
    with ZetaClient([emu.url], timeout=3.0, retries=1, backoff=0.05) as c:
        yield c


def test_overview_and_version_detection(client):
    overview = client.overview()
    assert overview.version == "2.3.12" and client.api == "v2"
    assert overview.workers == 1 and overview.pending_jobs is not None
    assert client.version() == "2.3.12"


def test_batch_job_finishes_with_metrics(client):
    submitted = client.submit_job(fake_source(rows=300), job_name="nightly")
    assert submitted.job_name == "nightly" and submitted.job_id > 2**53
    running = wait_for(client, submitted.job_id, JobState.RUNNING, JobState.FINISHED)
    assert any(j.job_id == submitted.job_id for j in client.running_jobs()) or running.state is JobState.FINISHED
    done = wait_for(client, submitted.job_id, JobState.FINISHED)
    assert done.metrics.source_received_count == 300 >= running.metrics.source_received_count
    assert done.metrics.sink_write_count == 300 and done.metrics.sink_write_bytes > 0
    assert done.finished_time and done.error_msg is None
    assert [v.type for v in done.vertices] == ["source", "sink"]
    finished = client.finished_jobs(JobState.FINISHED)
    assert submitted.job_id in {j.job_id for j in finished}
    assert submitted.job_id in {j.job_id for j in client.finished_jobs()}


def test_streaming_runs_until_stopped(client):
    job_id = client.submit_job(fake_source("STREAMING")).job_id
    first = wait_for(client, job_id, JobState.RUNNING)
    later = wait_until(
        lambda: (
            (info := client.job_info(job_id)).metrics.source_received_count > first.metrics.source_received_count
            and info
        ),
        message="the source to read more rows",
    )
    assert later.state is JobState.RUNNING
    assert later.metrics.source_received_count > first.metrics.source_received_count
    assert later.env_options["job.mode"] == "STREAMING" and later.is_start_with_savepoint is False
    assert client.stop_job(job_id).job_id == job_id
    assert client.job_info(job_id).state in (JobState.CANCELING, JobState.CANCELED)
    canceled = wait_for(client, job_id, JobState.CANCELED)
    assert job_id in {j.job_id for j in client.finished_jobs("CANCELED")}
    assert canceled.metrics.source_received_count >= later.metrics.source_received_count


def test_savepoint_stop_then_resume_with_the_same_id(client):
    job_id = client.submit_job(fake_source("STREAMING")).job_id
    wait_for(client, job_id, JobState.RUNNING)
    # the savepoint should hold some progress (checked after the resume)
    wait_until(lambda: client.job_info(job_id).metrics.source_received_count > 0, message="rows read")
    result = client.stop_job(job_id, savepoint=True)
    assert result.savepoint and result.job_id == job_id
    assert client.job_info(job_id).state is JobState.DOING_SAVEPOINT
    paused = wait_for(client, job_id, JobState.SAVEPOINT_DONE)
    assert job_id in {j.job_id for j in client.finished_jobs(JobState.SAVEPOINT_DONE)}
    resumed = client.submit_job(fake_source("STREAMING"), job_id=job_id, start_with_savepoint=True)
    assert resumed.job_id == job_id
    info = wait_for(client, job_id, JobState.RUNNING)
    assert info.is_start_with_savepoint is True
    assert info.metrics.source_received_count >= paused.metrics.source_received_count > 0
    client.stop_job(job_id)


def test_ids_above_2_to_the_53_round_trip_exactly(client):
    job_id = 2**60 + 12345  # 2**60 + 12345 as a double would be 2**60 + 12288
    assert float(job_id) != job_id
    assert client.submit_job(fake_source(), job_id=job_id).job_id == job_id
    info = client.job_info(job_id)
    assert info.job_id == job_id and isinstance(info.job_id, int)
    assert job_id in {j.job_id for j in client.running_jobs()} | {j.job_id for j in client.finished_jobs()}


def test_unknown_job_and_silent_stop(client):
    with pytest.raises(ZetaJobNotFound) as caught:
        client.job_info(733584788375666689)
    assert caught.value.code == "ZETA_JOB_NOT_FOUND"
    assert client.stop_job(733584788375666689).job_id == 733584788375666689
    with pytest.raises(ZetaJobNotFound):
        client.logs(733584788375666689)


def test_rejections_carry_the_engine_body(client):
    with pytest.raises(ZetaRequestRejected) as caught:
        client.submit_job(dict(fake_source(), source=[{"plugin_name": "Kafkaa"}]))
    error = caught.value
    assert error.code == "ZETA_REQUEST_REJECTED"
    assert error.details["status"] == 500
    assert error.details["body"]["status"] == "fail"
    assert "pluginName='Kafkaa'} not found." in error.message
    finished = client.submit_job(fake_source()).job_id
    wait_for(client, finished, JobState.FINISHED)
    with pytest.raises(ZetaRequestRejected, match="not starting with a savepoint"):
        client.submit_job(fake_source(), job_id=finished)


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        (faults.CHECKPOINT_TIMEOUT, "Checkpoint expired before completing."),
        (faults.OUT_OF_MEMORY, "java.lang.OutOfMemoryError: Java heap space"),
        (faults.MISSING_JDBC_DRIVER, "ErrorCode:[JDBC-01], ErrorDescription:[Fail to create driver of class]"),
        (faults.NOT_ENOUGH_SLOTS, "NoEnoughResourceException"),
    ],
)
def test_faults_from_the_job_config(client, fault, text):
    config = fake_source("STREAMING", **{faults.ENV_FAULT: fault, faults.ENV_FAULT_AFTER_MS: 200})
    job_id = client.submit_job(config).job_id
    failed = wait_for(client, job_id, JobState.FAILED)
    assert text in failed.error_msg
    row = next(j for j in client.finished_jobs(JobState.FAILED) if j.job_id == job_id)
    assert text in row.error_msg


def test_faults_from_a_faults_file(tmp_path):
    plan = {
        "missing_plugins": ["Kafka"],
        "missing_jdbc_drivers": ["org.postgresql.Driver"],
        "slots": 4,
        "jobs": [{"job_name": "doomed", "fault": "out_of_memory", "after_ms": 100}],
    }
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(plan))
    with emulator_process("--faults", str(path)) as emu, ZetaClient(emu.url) as client:
        assert client.overview().total_slots == 4
        driver_job = client.submit_job(jdbc_to_console("org.postgresql.Driver")).job_id
        failed = wait_for(client, driver_job, JobState.FAILED)
        assert "Fail to create driver of class org.postgresql.Driver" in failed.error_msg
        assert "java.lang.ClassNotFoundException: org.postgresql.Driver" in failed.error_msg
        doomed = client.submit_job(fake_source("STREAMING"), job_name="doomed").job_id
        assert "OutOfMemoryError" in wait_for(client, doomed, JobState.FAILED).error_msg
        with pytest.raises(ZetaRequestRejected, match="pluginName='Kafka'} not found"):
            client.submit_job(dict(fake_source(), source=[{"plugin_name": "Kafka"}]))
        first = client.submit_job(fake_source("STREAMING", parallelism=2)).job_id  # takes 4 slots
        wait_for(client, first, JobState.RUNNING)
        assert client.overview().unassigned_slots == 0
        second = client.submit_job(fake_source("STREAMING")).job_id
        assert "Job Resource not enough" in wait_for(client, second, JobState.FAILED).error_msg


def test_logs_metrics_and_monitoring(client):
    job_id = client.submit_job(fake_source()).job_id
    wait_for(client, job_id, JobState.RUNNING, JobState.FINISHED)
    assert f"job-{job_id}.log" in {f.name for f in client.logs()}
    assert f"[{job_id}]" in client.logs(job_id)
    assert "job_count{" in client.metrics_text()
    members = client.system_monitoring()
    assert members and "processors" in members[0]


def test_basic_auth():
    with emulator_process("--basic-auth", "admin:s3cret") as emu:
        with ZetaClient(emu.url, auth=("admin", "wrong"), retries=0) as bad, pytest.raises(ZetaAuthFailed) as caught:
            bad.overview()
        assert caught.value.code == "ZETA_AUTH_FAILED"
        assert caught.value.details["www_authenticate"] == 'Basic realm="SeaTunnel Web UI"'
        with ZetaClient(emu.url, auth=("admin", "s3cret")) as good:
            assert good.overview().version == "2.3.12"


def test_context_path():
    with emulator_process("--context-path", "/seatunnel") as emu, ZetaClient(emu.url, context_path="seatunnel/") as c:
        job_id = c.submit_job(fake_source()).job_id
        assert c.job_info(job_id).job_id == job_id


def test_dead_endpoint_fails_over_to_the_live_one(emu):
    dead = f"http://127.0.0.1:{dead_port()}"
    with ZetaClient([dead, emu.url], retries=0, timeout=2.0) as client:
        assert client.overview().version == "2.3.12"
        job_id = client.submit_job(fake_source()).job_id  # connection refused: nothing sent, safe to go on
        assert client.job_info(job_id).job_id == job_id


def test_unreachable_cluster_after_bounded_retries():
    dead = [f"http://127.0.0.1:{dead_port()}", f"http://127.0.0.1:{dead_port()}"]
    with ZetaClient(dead, retries=2, backoff=0.05, timeout=1.0, api="v2") as client:
        started = time.monotonic()
        with pytest.raises(ZetaUnreachable) as caught:
            client.overview()
        assert caught.value.code == "ZETA_UNREACHABLE"
        assert caught.value.details["attempts"] == 6  # 3 rounds over 2 endpoints
        assert time.monotonic() - started < 3
        with pytest.raises(ZetaUnreachable) as caught:
            client.submit_job(fake_source())
        assert caught.value.details["attempts"] == 2  # one pass, no retry rounds for a submit


class DroppingServer:
    """Accepts connections, reads a request, closes without answering; counts the requests."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(65536)
                if data:
                    self.requests.append(data.split(b"\r\n", 1)[0])

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dropping() -> Callable[[], DroppingServer]:
    server = DroppingServer()
    yield server
    server.close()


def test_a_submit_is_never_retried(dropping):
    with ZetaClient(dropping.url, retries=3, backoff=0.01, timeout=2.0, api="v2") as client:
        with pytest.raises(ZetaSubmitOutcomeUnknown) as caught:
            client.submit_job(fake_source(), job_name="once")
        assert caught.value.code == "ZETA_SUBMIT_OUTCOME_UNKNOWN"
        assert [r for r in dropping.requests if r.startswith(b"POST")] == [b"POST /submit-job?jobName=once HTTP/1.1"]
        dropping.requests.clear()
        with pytest.raises(ZetaUnreachable):
            client.running_jobs()
        assert len(dropping.requests) == 4  # a read is retried: 1 + 3


def test_old_cluster_through_the_v1_fallback():
    with emulator_process("--version", "2.3.8") as emu, ZetaClient(emu.url, retries=0) as client:
        assert client.api == "v1"
        assert client.overview().version == "2.3.8"
        job_id = client.submit_job(fake_source("STREAMING"), job_name="legacy").job_id
        info = wait_for(client, job_id, JobState.RUNNING)
        assert info.name == "legacy"
        assert job_id in {j.job_id for j in client.running_jobs()}
        client.stop_job(job_id, savepoint=True)
        wait_for(client, job_id, JobState.SAVEPOINT_DONE)
        assert "job_count" in client.metrics_text()
        with pytest.raises(ZetaUnsupported):
            client.logs(job_id)
