"""Contract tests of issue 12: the emulator answers like the engine's code, and the client reads those answers
(recorded shapes in fixtures/zeta_answers.json, written from the engine's servlets)."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from controlplane.seatunnel.client import (
    CallTimeouts,
    JobInfo,
    JobSummary,
    Overview,
    ZetaClient,
    ZetaJobNotFound,
    ZetaLogsUnreachable,
    ZetaRequestRejected,
    ZetaUnsupportedVersion,
    tls_context,
)
from controlplane.seatunnel.config.parse import parse_config
from controlplane.seatunnel.emulator.process import EmulatorMember, emulator_process
from controlplane.seatunnel.states import JobState
from tests.waiting import wait_until

ANSWERS = json.loads((Path(__file__).parent / "fixtures" / "zeta_answers.json").read_text())
FAKE = {
    "env": {"job.mode": "BATCH", "emulator.duration_ms": 300},
    "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": 10}],
    "sink": [{"plugin_name": "Console", "plugin_input": "fake"}],
}


def streaming(**env: Any) -> dict[str, Any]:
    return {**FAKE, "env": {"job.mode": "STREAMING", **env}}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def emu():
    with emulator_process("--version", "2.3.12") as running:
        yield running


@pytest.fixture
def client(emu):
    with ZetaClient(emu.url, retries=0) as c:
        yield c


# -- item 1: unknown job -------------------------------------------------------------------------------------
def test_unknown_job_echoes_the_id_without_status_and_the_client_says_not_found(emu, client):
    # JobInfoServlet: new JsonObject().add(JOB_ID, jobId) when the id is in neither map
    assert httpx.get(f"{emu.url}/job-info/123").json() == {"jobId": "123"}
    with pytest.raises(ZetaJobNotFound):
        client.job_info(123)
    assert client.find_job(123) is None
    with pytest.raises(ZetaJobNotFound):
        JobInfo.from_json(ANSWERS["job_info_unknown__JobInfoServlet"], asked_for=733584788375666689)


@pytest.mark.parametrize("mode", ["single", "cluster"])
def test_a_finished_job_is_forgotten_after_the_history_expiry_and_a_running_one_is_kept(mode, tmp_path):
    # seatunnel.yaml history-job-expire-minutes: the finished-job IMap entries expire; /job-info then knows no status
    expiry = ("--history-job-expire-minutes", "0.02")  # 1.2 s
    with contextlib.ExitStack() as stack:
        if mode == "single":
            url = stack.enter_context(emulator_process(*expiry)).url
        else:
            url = stack.enter_context(EmulatorMember(tmp_path / "cluster", args=expiry)).url
        client = stack.enter_context(ZetaClient(url, retries=0))
        running = client.submit_job(streaming()).job_id
        finished = client.submit_job(FAKE).job_id
        wait_until(lambda: client.job_info(finished).state is JobState.FINISHED)
        assert str(finished) in {e["jobId"] for e in httpx.get(f"{url}/finished-jobs").json()}
        wait_until(lambda: client.find_job(finished) is None)
        assert httpx.get(f"{url}/job-info/{finished}").json() == {"jobId": str(finished)}
        assert str(finished) not in {e["jobId"] for e in httpx.get(f"{url}/finished-jobs").json()}
        assert client.job_info(running).state is JobState.RUNNING  # only finished jobs expire


# -- item 5: answer shapes -----------------------------------------------------------------------------------
def test_recorded_answers_parse():
    overview = Overview.from_json(ANSWERS["overview__OverviewServlet_OverviewInfo"])
    assert overview.workers == 2  # OverviewInfo.workers
    done = JobInfo.from_json(ANSWERS["finished_job__BaseServlet_getJobInfoJson"], asked_for=733584788375666689)
    assert (done.state, done.finish_time) == (JobState.FINISHED, "2024-10-23 10:00:07")
    (running,) = [JobSummary.from_json(e) for e in ANSWERS["running_jobs__RunningJobsServlet_convertToJson"]]
    assert (running.metrics.source_received_count, running.metrics.sink_write_count) == (1200, 1190)
    assert running.job_id == 733584788375666690 > 2**53


def test_emulator_answer_shapes(emu, client):
    assert httpx.get(f"{emu.url}/overview").json()["workers"] == "1"
    submitted = httpx.post(f"{emu.url}/submit-job", content=json.dumps(streaming())).json()
    assert isinstance(submitted["jobId"], str)  # String.valueOf(jobId)
    job_id = int(submitted["jobId"])
    wait_until(lambda: client.job_info(job_id).state is JobState.RUNNING)
    (entry,) = [e for e in httpx.get(f"{emu.url}/running-jobs").json() if e["jobId"] == str(job_id)]
    assert "SourceReceivedCount" in entry["metrics"] and "sourceReceivedCount" not in entry["metrics"]
    stopped = httpx.post(f"{emu.url}/stop-job", content=json.dumps({"jobId": job_id})).json()
    assert stopped == {"jobId": str(job_id)}  # map.get(JOB_ID).toString()
    info = wait_until(lambda: (i := client.job_info(job_id)).state.is_terminal and i)
    assert info.finish_time and "finishTime" in info.raw and "envOptions" not in info.raw


# -- item 7: the engine's double -----------------------------------------------------------------------------
def test_every_job_passes_through_pending(emu, client):
    job_id = client.submit_job(FAKE).job_id
    wait_until(lambda: client.job_info(job_id).state is JobState.FINISHED)
    log = client.logs(job_id)
    assert "turned from state CREATED to PENDING" in log and "from state PENDING to SCHEDULED" in log


def test_savepoint_stop_of_a_job_that_is_not_running_answers_200(emu, client):
    job_id = client.submit_job(FAKE).job_id
    wait_until(lambda: client.job_info(job_id).state is JobState.FINISHED)
    answer = httpx.post(f"{emu.url}/stop-job", content=json.dumps({"jobId": job_id, "isStopWithSavePoint": True}))
    assert (answer.status_code, answer.json()) == (200, {"jobId": str(job_id)})


def test_finished_jobs_filter_in_any_case_and_unknown_states_match_nothing(emu, client):
    job_id = client.submit_job(FAKE).job_id
    wait_until(lambda: client.job_info(job_id).state is JobState.FINISHED)
    lower = httpx.get(f"{emu.url}/finished-jobs/finished").json()
    assert str(job_id) in {e["jobId"] for e in lower}
    assert httpx.get(f"{emu.url}/finished-jobs/NOPE").json() == []


def test_the_documented_hocon_example_is_accepted(emu, client):
    text = """env {
  job.mode = "batch"
  emulator.duration_ms = 300
}
source {
  FakeSource {
    plugin_output = "fake"
    row.num = 100
    schema = { fields { name = "string", age = "int", card = "int" } }
  }
}
transform {
}
sink {
  Console {
    plugin_input = "fake"
  }
}"""
    answer = httpx.post(f"{emu.url}/submit-job", params={"format": "hocon"}, content=text)
    assert answer.status_code == 200, answer.text
    job_id = int(answer.json()["jobId"])
    info = client.job_info(job_id)
    assert [v["vertexName"] for v in info.raw["jobDag"]["vertexInfoMap"]] == ["Source[0]-FakeSource", "Sink[0]-Console"]


def test_env_options_echo_the_env_as_sent_and_nested_keys_are_not_repaired(emu, client):
    job_id = client.submit_job(streaming(**{"checkpoint.interval": 5000})).job_id
    assert client.job_info(job_id).env_options == {"job.mode": "STREAMING", "checkpoint.interval": 5000}
    nested = client.submit_job(streaming(checkpoint={"interval": 5000})).job_id
    assert client.job_info(nested).env_options["checkpoint"] == {"interval": 5000}  # as sent, not re-flattened
    client.stop_job(job_id)
    client.stop_job(nested)


# -- item 2 on the wire --------------------------------------------------------------------------------------
def test_a_map_option_sent_nested_fails_the_submit_and_flat_passes(client):
    text = (
        'env { job.mode = "STREAMING" }\n'
        'source { Kafka { plugin_output = "k", topic = "t", kafka.config = { client.id = "cp" } } }\n'
        'sink { Console { plugin_input = "k" } }\n'
    )
    flat = json.loads(parse_config(text).json_text)
    assert flat["source"][0]["kafka.config"] == {"client.id": "cp"}
    job_id = client.submit_job(flat).job_id
    client.stop_job(job_id)
    nested = {**flat, "source": [{**flat["source"][0], "kafka.config": {"client": {"id": "cp"}}}]}
    with pytest.raises(ZetaRequestRejected) as caught:
        client.submit_job(nested)
    # ConfigUtil.convertValue rethrows the failed Jackson read with the value and the wanted type
    assert "java.util.Map<java.lang.String, java.lang.String>" in caught.value.message


# -- item 4: submit timing and failures ----------------------------------------------------------------------
def test_a_jdbc_source_that_cannot_connect_fails_the_submit_with_the_engine_message(client):
    url = f"jdbc:mysql://127.0.0.1:{closed_port()}/shop"
    config = {
        "env": {"job.mode": "BATCH"},
        "source": [{"plugin_name": "Jdbc", "url": url, "driver": "com.mysql.cj.jdbc.Driver", "query": "select 1"}],
        "sink": [{"plugin_name": "Console"}],
    }
    with pytest.raises(ZetaRequestRejected) as caught:
        client.submit_job(config)
    assert caught.value.details["status"] == 500
    # AbstractJdbcCatalog.getConnection -> CatalogException (API-03)
    assert caught.value.message == (
        f"ErrorCode:[API-03], ErrorDescription:[Catalog initialize failed] - Failed connecting to {url} via JDBC."
    )


def test_timeouts_per_call_kind():
    defaults = ZetaClient("http://127.0.0.1:1", timeout=5.0)
    assert defaults.timeouts.submit >= 120 and defaults.timeouts.read == 5.0 and defaults.timeouts.connect == 5.0
    chosen = ZetaClient("http://127.0.0.1:1", timeouts=CallTimeouts(connect=1, read=2, submit=300, stop=4, logs=9))
    assert chosen.timeouts.for_kind("submit").read == 300 and chosen.timeouts.for_kind("submit").connect == 1


# -- item 3: logs --------------------------------------------------------------------------------------------
def test_logs_are_a_listing_and_the_client_reads_each_file(emu, client):
    job_id = client.submit_job(FAKE).job_id
    wait_until(lambda: client.job_info(job_id).state is JobState.FINISHED)
    page = httpx.get(f"{emu.url}/logs/{job_id}")
    assert page.headers["content-type"].startswith("text/html") and f"job-{job_id}.log" in page.text
    (file,) = client.job_logs(job_id)
    assert file.name == f"job-{job_id}.log" and file.error is None
    assert f"Start submit job, job id: {job_id}" in (file.text or "")
    assert httpx.get(f"{emu.url}/logs/job-1.log").status_code == 400  # LogBaseServlet: unreadable file


class _Listing(BaseHTTPRequestHandler):
    """A member whose listing names a file on a member that is gone (the recorded AllNodeLogServlet shape)."""

    link = ""

    def do_GET(self) -> None:
        body = json.dumps([{"node": "10.0.0.9:8080", "logLink": self.link, "logName": "job-5.log"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_member_that_cannot_be_reached_is_said_plainly():
    _Listing.link = f"http://127.0.0.1:{closed_port()}/logs/job-5.log"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with ZetaClient(f"http://127.0.0.1:{server.server_port}", api="v2", retries=0) as client:
            (file,) = client.job_logs(5)
            assert file.text is None and file.error is not None and file.error.code == "ZETA_UNREACHABLE"
            with pytest.raises(ZetaLogsUnreachable) as caught:
                client.logs(5)
            assert caught.value.details["nodes"] == ["10.0.0.9:8080"]
    finally:
        server.shutdown()
        server.server_close()


# -- item 6: versions ----------------------------------------------------------------------------------------
def test_2_3_8_is_driven_through_v1_on_its_own_base_url():
    with emulator_process("--version", "2.3.8") as old:
        with ZetaClient(f"http://127.0.0.1:{closed_port()}", v1_endpoints=[old.url], retries=0) as client:
            assert (client.api, client.version()) == ("v1", "2.3.8")
            job_id = client.submit_job(FAKE).job_id
            assert client.job_info(job_id).job_id == job_id


def test_2_3_5_is_refused_with_a_stable_code():
    with emulator_process("--version", "2.3.5") as old:
        assert httpx.get(f"{old.url}/hazelcast/rest/maps/overview").status_code == 404
        assert httpx.get(f"{old.url}/hazelcast/rest/maps/running-jobs").status_code == 200
        with ZetaClient(old.url, retries=0) as client, pytest.raises(ZetaUnsupportedVersion) as caught:
            client.overview()
        assert caught.value.code == "ZETA_UNSUPPORTED_VERSION"


# -- item 8: TLS options -------------------------------------------------------------------------------------
def test_tls_options_reach_the_transport_context():
    assert tls_context(verify=False) is False
    trusted = tls_context(ca_bundle=ssl.get_default_verify_paths().cafile or None)
    assert isinstance(trusted, ssl.SSLContext) and trusted.verify_mode is ssl.CERT_REQUIRED
    with pytest.raises(FileNotFoundError):
        tls_context(client_cert=("/nonexistent/cert.pem", "/nonexistent/key.pem"))
