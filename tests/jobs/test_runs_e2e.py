"""The whole life of jobs and runs through the API, against the Zeta emulator running as a real process.

register cluster -> create job from shared/seatunnel/configs/fakesource_to_console.conf -> revise -> diff -> run
-> SUCCEEDED with metrics and log lines -> a streaming job paused with a savepoint and resumed -> a failing config
surfaces the engine's error -> roll back -> run again. Celery tasks run inline (eager) after each commit; the sync
loop is driven by calling its task the way beat would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.celery import app
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.jobs.tasks import sync_runs
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

# The repository's copy of ../shared/seatunnel/configs/fakesource_to_console.conf (the demo job uses it too), so
# `make test` runs without the shared folder; tests/seatunnel/test_config.py checks the copy is the same file.
CONFIGS = Path(__file__).resolve().parents[2] / "controlplane" / "console" / "demo"
STREAMING = """
env { job.mode = "STREAMING", parallelism = 1, checkpoint.interval = 1000 }
source { FakeSource { plugin_output = "events", row.num = 1000000, split.read-interval = 10,
  schema = { fields { id = "bigint", name = "string" } } } }
sink { Console { plugin_input = "events" } }
"""


@pytest.fixture(scope="module")
def zeta():
    with emulator_process("--time-scale", "0.3") as running:
        yield running


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture
def api(django_capture_on_commit_callbacks):
    meta = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme")
    tenancy.do_create_workspace(metadata=meta, tenant_id=tenant_id, name="ETL", slug="etl")
    user = User.objects.create_user("ops")
    iam.do_grant_role(
        user=user,
        tenant=Tenant.objects.get(id=tenant_id),
        role="operator",
        metadata=Metadata.for_system(None, reason="tests"),
    )
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    def call(method: str, path: str, body: dict | None = None, status: int | None = None) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            if method == "get":
                response = client.get(f"/api/v1/tenants/acme/workspaces/etl/{path}")
            else:
                response = getattr(client, method)(
                    f"/api/v1/tenants/acme/workspaces/etl/{path}", body or {}, content_type="application/json"
                )
        if status is not None:
            assert response.status_code == status, response.content
        return response.json() if response.content else {}

    return call


def wait_for(call, run_id: str, *states: str, timeout: float = 30.0) -> dict:
    """Drive the sync loop like beat does until the run is in one of ``states``."""
    last: dict = {}

    def arrived() -> dict | None:
        sync_runs()
        last.clear()
        last.update(call("get", f"runs/{run_id}/", status=200))
        return dict(last) if last["state"] in states else None

    return wait_until(
        arrived,
        timeout=timeout,
        interval=0.1,
        message=lambda: f"run in {states}, it stayed {last.get('state')}: {last}",
    )


def test_jobs_and_runs_through_their_whole_life(api, zeta, eager):
    # operators cannot register clusters or create jobs: the owner's part is done with the same API by an owner
    owner = User.objects.create_user("owner")
    iam.do_grant_role(
        user=owner,
        tenant=Tenant.objects.get(slug="acme"),
        role="owner",
        metadata=Metadata.for_system(None, reason="tests"),
    )
    cluster = api_as(owner)(
        "post",
        "clusters/",
        {"name": "zeta", "form": "bare_metal", "mode": "hybrid", "endpoints": [zeta.url]},
        status=201,
    )
    assert cluster["engine_version"] == "2.3.12"
    conf = (CONFIGS / "fakesource_to_console.conf").read_text()
    job = api_as(owner)(
        "post", "jobs/", {"name": "fake-to-console", "cluster_id": cluster["id"], "config": conf}, status=201
    )
    revised = conf.replace('job.mode = "BATCH"', 'job.mode = "BATCH"\n  parallelism = 2')
    job = api_as(owner)("post", f"jobs/{job['id']}/versions/", {"config": revised, "message": "two readers"}, 200)
    assert job["current_version"] == 2
    diff = api("get", f"jobs/{job['id']}/diff/?from=1&to=2", status=200)
    assert "parallelism" in diff["text"]

    # run -> SUCCEEDED with metrics and log lines
    run = api("post", f"jobs/{job['id']}/runs/", {"note": "first"}, status=202)
    assert run["state"] == "PENDING"  # answered before the worker submits (after commit)
    run = api("get", f"runs/{run['id']}/", status=200)
    assert run["state"] in ("SUBMITTING", "RUNNING", "SUCCEEDED") and run["acknowledged"] is True
    assert run["manifest"]["config_text"] == revised
    assert run["manifest"]["connectors"] == {"source": ["FakeSource"], "transform": [], "sink": ["console"]}
    assert isinstance(run["engine_job_id"], str) and int(run["engine_job_id"]) > 2**53  # beyond a double
    done = wait_for(api, run["id"], "SUCCEEDED", "FAILED")
    assert done["state"] == "SUCCEEDED", done
    assert int(done["metrics"]["source_received_count"]) > 0
    assert done["metrics"]["sink_write_count"] == done["metrics"]["source_received_count"]
    logs = api("get", f"runs/{run['id']}/logs/", status=200)
    assert any(f"job id: {run['engine_job_id']}" in line for line in logs["lines"]), logs
    assert logs["live"] is False

    # a streaming job: paused with a savepoint and resumed under the same engine job id
    stream_job = api_as(owner)(
        "post", "jobs/", {"name": "stream", "cluster_id": cluster["id"], "config": STREAMING}, status=201
    )
    stream = api("post", f"jobs/{stream_job['id']}/runs/", status=202)
    wait_for(api, stream["id"], "RUNNING")
    refused = api("post", f"jobs/{stream_job['id']}/runs/", status=409)
    assert refused["error"]["code"] == "RUN_ACTIVE_EXISTS"
    running = wait_for(api, stream["id"], "RUNNING")
    assert running["live_metrics"] is not None
    api("post", f"runs/{stream['id']}/pause/", status=202)
    paused = wait_for(api, stream["id"], "PAUSED")
    assert paused["engine_state"] == "SAVEPOINT_DONE"
    api("post", f"runs/{stream['id']}/resume/", status=202)
    resumed = api("get", f"runs/{stream['id']}/", status=200)
    assert resumed["engine_job_id"] == stream["engine_job_id"] and resumed["attempts"] == 2
    wait_for(api, stream["id"], "RUNNING")
    api("post", f"runs/{stream['id']}/stop/", status=202)
    stopped = wait_for(api, stream["id"], "STOPPED")
    assert stopped["engine_state"] == "CANCELED"
    logged = set(Event.objects.filter(stream_id=f"run-{stream['id']}").values_list("event_type", flat=True))
    assert {
        "jobs.run_requested",
        "jobs.run_submission_started",
        "jobs.run_submitted",
        "jobs.run_state_changed",
        "jobs.run_stop_requested",
    } <= logged, logged

    # a failing config surfaces the engine's error; roll back; run again
    failing = revised.replace('job.mode = "BATCH"', 'job.mode = "BATCH"\n  emulator.fault = "out_of_memory"')
    api_as(owner)("post", f"jobs/{job['id']}/versions/", {"config": failing, "message": "bad"}, 200)
    bad = api("post", f"jobs/{job['id']}/runs/", status=202)
    failed = wait_for(api, bad["id"], "FAILED")
    assert "java.lang.OutOfMemoryError" in failed["error"], failed
    assert failed["error_code"] == "ZETA_JOB_FAILED"
    rolled = api_as(owner)("post", f"jobs/{job['id']}/rollback/", {"to_version": 2}, 200)
    assert rolled["current_version"] == 4
    again = api("post", f"jobs/{job['id']}/runs/", status=202)
    assert again["job_version"] == 4 and again["manifest"]["config_text"] == revised
    assert wait_for(api, again["id"], "SUCCEEDED", "FAILED")["state"] == "SUCCEEDED"

    # retry links the new run to the failed one and runs the failed manifest again (it fails again)
    retry = api("post", f"runs/{bad['id']}/retry/", status=202)
    assert retry["retry_of"] == bad["id"] and retry["job_version"] == 3
    assert wait_for(api, retry["id"], "FAILED")["error_code"] == "ZETA_JOB_FAILED"
    # reproduce starts a new run from the successful manifest
    again2 = api("post", f"runs/{again['id']}/reproduce/", status=202)
    assert again2["reproduces"] == again["id"] and again2["manifest"]["config_text"] == revised

    listed = api("get", f"jobs/{job['id']}/runs/", status=200)
    assert [r["id"] for r in listed["results"]][-1] == run["id"]
    assert Event.objects.filter(stream_type="jobs.run").count() > 20


def api_as(user):
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    def call(method: str, path: str, body: dict | None = None, status: int | None = None) -> dict:
        response = getattr(client, method)(
            f"/api/v1/tenants/acme/workspaces/etl/{path}", body or {}, content_type="application/json"
        )
        if status is not None:
            assert response.status_code == status, response.content
        return response.json()

    return call
