"""`POST …/faults/match` and the `fault` of a failed run in the runs API (computed when read, in the request's
language). Role, tenant and audit cases of the endpoint are generated from tests/api/endpoints.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client

from controlplane.diagnostics.selectors import run_fault, run_metrics
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import run_actions, runner
from controlplane.jobs.models import Job, Run
from controlplane.seatunnel.client import JobLogFile
from controlplane.seatunnel.emulator import faults
from controlplane.seatunnel.states import JobState as EngineState
from tests.api.world import World, world_for_module
from tests.diagnostics.test_matcher import buried
from tests.diagnostics.texts import ENGINE_LOG_233, SAMPLES, UNRELATED

pytestmark = pytest.mark.django_db
URL = "/api/v1/tenants/acme/workspaces/etl/faults/match/"
RUNS = "/api/v1/tenants/acme/workspaces/etl/runs/"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    with world_for_module(django_db_blocker) as built:
        yield built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def post(client: Client, world: World, body: object, who: str = "viewer", **headers: str):
    return client.post(URL, body, "application/json", **world.auth(who), **headers)


def test_a_noisy_log_answers_its_matches_best_first(client, world):
    text = buried("checkpoint_expired", SAMPLES["checkpoint_expired"][0])
    response = post(client, world, {"text": text})
    assert response.status_code == 200, response.content[:500]
    found = response.json()
    assert found[0]["id"] == "checkpoint_expired" and found[0]["title"] == "Checkpoint timed out"
    assert set(found[0]) == {"id", "title", "score"}
    assert [m["score"] for m in found] == sorted((m["score"] for m in found), reverse=True)


def test_no_match_is_an_empty_list(client, world):
    for text in ("", "\n".join(UNRELATED)):
        response = post(client, world, {"text": text})
        assert response.status_code == 200 and response.json() == []


def test_evidence_and_metrics(client, world):
    body = {
        "text": SAMPLES["checkpoint_expired"][0],
        "metrics": {"checkpoint.timeout": 500, "checkpoint.interval": 10000},
        "evidence": True,
    }
    found = post(client, world, body).json()
    assert found[0]["id"] == "checkpoint_timeout_too_small"
    assert found[0]["evidence"][0]["place"] == "root_cause" and found[0]["evidence"][0]["line"] == 1


def test_a_text_over_the_limit_is_413_with_its_code(client, world):
    response = post(client, world, {"text": "x" * 1_000_001})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "FAULT_TEXT_TOO_LARGE"
    assert response.json()["error"]["details"]["limit"] == 1_000_000


@pytest.mark.parametrize("body", [{}, {"text": 12}, {"text": None}, {"text": "x", "metrics": {"a": "b"}}])
def test_a_missing_or_mistyped_text_is_400(client, world, body):
    response = post(client, world, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


def _failed_run(world: World, error: str) -> str:
    meta = Metadata.for_system(world.acme.id, reason="tests")
    job = Job.unscoped.get(id=world.objects["acme_job"])
    run_id = run_actions.do_start_run(metadata=meta, job=job, allow_overlap=True)
    run_actions.do_record_run_submission_started(metadata=meta, run=Run.unscoped.get(id=run_id))
    run_actions.do_record_run_submitted(metadata=meta, run=Run.unscoped.get(id=run_id), found_by_reconcile=False)
    for state, text in ((EngineState.RUNNING, None), (EngineState.FAILED, error)):
        run_actions.do_record_run_observed(
            metadata=meta, run=Run.unscoped.get(id=run_id), engine_state=state, error=text, metrics={}
        )
    assert Run.unscoped.get(id=run_id).state == "FAILED"
    return run_id


def test_a_failed_run_shows_its_known_fault_in_the_request_language(client, world):
    error = faults.error_text(faults.MISSING_JDBC_DRIVER, job_id=1)
    run_id = _failed_run(world, error)
    english = client.get(f"{RUNS}{run_id}/", **world.auth("viewer")).json()["fault"]
    assert english["id"] == "jdbc_driver_missing" and english["title"] == "JDBC driver class not found"
    assert english["source"] == "error"
    assert english["severity"] == "error" and "$SEATUNNEL_HOME/lib/" in english["fix"]
    assert english["evidence"] == "Caused by: java.lang.ClassNotFoundException: com.mysql.cj.jdbc.Driver"  # the root
    assert english["one_click"] == {"kind": "operation", "type": "rolling_restart", "params": {}}
    chinese = client.get(f"{RUNS}{run_id}/", **world.auth("viewer"), HTTP_ACCEPT_LANGUAGE="zh-CN").json()["fault"]
    assert chinese["id"] == english["id"] and chinese["title"] == "找不到 JDBC 驱动类"
    assert "lib/" in chinese["fix"] and chinese["explanation"] != english["explanation"]
    listed = client.get(f"{RUNS}?state=FAILED", **world.auth("viewer")).json()["results"]
    assert next(r for r in listed if r["id"] == run_id)["fault"]["id"] == "jdbc_driver_missing"


def test_a_run_without_a_known_fault_shows_null(client, world):
    unknown = _failed_run(world, "java.lang.IllegalStateException: something nobody has seen before")
    assert client.get(f"{RUNS}{unknown}/", **world.auth("viewer")).json()["fault"] is None
    running = world.objects["acme_run_running"]
    assert client.get(f"{RUNS}{running}/", **world.auth("viewer")).json()["fault"] is None


def test_a_run_that_did_not_fail_is_not_matched_even_with_an_error_text():
    run = SimpleNamespace(state="STOPPED", error=SAMPLES["heap_out_of_memory"][0], manifest={})
    assert run_fault(run) is None
    assert run_fault(SimpleNamespace(state="FAILED", error=run.error, manifest={}))["id"] == "heap_out_of_memory"


def test_the_runs_checkpoint_settings_feed_the_metric_conditions():
    manifest = {"normalised": {"env": {"checkpoint.interval": 10000, "checkpoint.timeout": "500", "x": 1}}}
    run = SimpleNamespace(state="FAILED", error=SAMPLES["checkpoint_expired"][0], manifest=manifest)
    assert run_metrics(run) == {"checkpoint.interval": 10000.0, "checkpoint.timeout": 500.0}
    assert run_fault(run)["id"] == "checkpoint_timeout_too_small"
    assert run_fault(SimpleNamespace(state="FAILED", error=run.error, manifest={}))["id"] == "checkpoint_expired"


def test_a_remembered_fault_is_handed_out_as_a_copy():
    run = SimpleNamespace(state="FAILED", error=SAMPLES["worker_lost"][0], manifest={})
    first = run_fault(run)
    first["one_click"]["params"]["node"] = "changed by a caller"
    first["title"] = "changed"
    again = run_fault(run)
    assert again["title"] == "Worker left while running tasks"
    assert again["one_click"] == {"kind": "agent_action", "type": "worker.start", "params": {}}


class _LogsOf:
    """The one thing runner.fetch_log asks of a Zeta client: the job's log files with their text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def job_logs(self, job_id: int) -> list[JobLogFile]:
        return [JobLogFile(node="10.0.0.11:8080", name=f"job-{job_id}.log", link="", text=self.text)]


def test_when_the_error_names_nothing_the_run_detail_reads_the_engines_log(client, world):
    run_id = _failed_run(world, "org.apache.seatunnel.engine.common.exception.SeaTunnelEngineException: job failed")
    detail = f"{RUNS}{run_id}/"
    assert client.get(detail, **world.auth("viewer")).json()["fault"] is None  # no log kept yet
    runner.fetch_log(Run.unscoped.get(id=run_id), client=_LogsOf(ENGINE_LOG_233))  # the runner's own writer
    fault = client.get(detail, **world.auth("viewer")).json()["fault"]
    assert fault["id"] == "checkpoint_expired" and fault["source"] == "log"
    assert fault["evidence"].startswith("org.apache.seatunnel.engine.server.checkpoint.CheckpointException")
    listed = client.get(f"{RUNS}?state=FAILED", **world.auth("viewer")).json()["results"]
    assert next(r for r in listed if r["id"] == run_id)["fault"] is None  # a list does not read logs


def test_the_error_wins_over_the_log(client, world):
    run_id = _failed_run(world, SAMPLES["heap_out_of_memory"][0])
    runner.fetch_log(Run.unscoped.get(id=run_id), client=_LogsOf(ENGINE_LOG_233))
    fault = client.get(f"{RUNS}{run_id}/", **world.auth("viewer")).json()["fault"]
    assert fault["id"] == "heap_out_of_memory" and fault["source"] == "error"
