"""Job definitions and versions: validation before anything is written, versions, diff, roll back, history."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.models import Event
from controlplane.eventlog.store import read_stream
from controlplane.jobs import actions
from controlplane.jobs.models import Job, JobVersion
from tests.api.world import FAKE_TO_CONSOLE, World, build_world
from tests.eventlog.fingerprint import read_model_fingerprint

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/tenants/acme/workspaces/etl/jobs/"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def create(client, world, config=FAKE_TO_CONSOLE, **extra):
    body = {"name": "orders", "cluster_id": world.objects["acme_cluster"], "config": config, **extra}
    return client.post(JOBS, body, content_type="application/json", **world.auth("admin"))


def test_a_job_through_its_versions(client, world):
    job = create(client, world, message="first cut").json()
    url = f"{JOBS}{job['id']}/"
    assert (job["current_version"], job["mode"]) == (1, "BATCH")
    revised = client.post(
        f"{url}versions/",
        {"config": FAKE_TO_CONSOLE.replace("16", "99"), "message": "more rows"},
        content_type="application/json",
        **world.auth("admin"),
    )
    assert revised.status_code == 200 and revised.json()["current_version"] == 2
    same = client.post(
        f"{url}versions/",
        {"config": FAKE_TO_CONSOLE.replace("16", "99")},
        content_type="application/json",
        **world.auth("admin"),
    )
    assert same.json()["current_version"] == 2  # unchanged text: no new version
    diff = client.get(f"{url}diff/?from=1&to=2", **world.auth("viewer")).json()
    assert "-    row.num = 16" in diff["text"] and "+    row.num = 99" in diff["text"]
    (changed,) = [p for p in diff["structure"]["plugins"] if p["status"] == "changed"]
    assert changed["options"]["changed"] == {"row.num": {"old": 16, "new": 99}}
    rolled = client.post(f"{url}rollback/", {"to_version": 1}, content_type="application/json", **world.auth("admin"))
    assert rolled.json()["current_version"] == 3
    v3 = client.get(f"{url}versions/3/", **world.auth("viewer")).json()
    assert v3["rolled_back_from"] == 1 and v3["text"] == FAKE_TO_CONSOLE and v3["author"] == "user:admin-user"
    client.patch(url, {"labels": {"team": "dw"}}, content_type="application/json", **world.auth("admin"))
    client.delete(url, **world.auth("admin"))
    types = [e.event_type for e in read_stream(f"job-{job['id']}")]
    assert types == [
        "jobs.job_created",
        "jobs.job_version_added",
        "jobs.job_version_added",
        "jobs.job_version_added",
        "jobs.job_updated",
        "jobs.job_deleted",
    ]
    assert client.get(url, **world.auth("viewer")).status_code == 404


def test_history_answers_the_config_at_a_time(client, world):
    job_id = world.objects["acme_job"]
    between = timezone.now()
    job = Job.unscoped.get(id=job_id)
    actions.do_revise_job(metadata=_meta(world), job=job, config=FAKE_TO_CONSOLE.replace("16", "7"))
    at = client.get(f"{JOBS}{job_id}/versions/", {"at": between.isoformat()}, **world.auth("viewer")).json()
    assert at["version"] == 2 and "row.num = 32" in at["text"]
    now = client.get(f"{JOBS}{job_id}/versions/", {"at": timezone.now().isoformat()}, **world.auth("viewer")).json()
    assert now["version"] == 3


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ("source {", "JOB_CONFIG_PARSE_ERROR"),
        (FAKE_TO_CONSOLE.replace("Console", "Consle"), "JOB_CONFIG_PLUGIN_UNKNOWN"),
        (FAKE_TO_CONSOLE.replace('"BATCH"', '"SOMETIMES"'), "JOB_CONFIG_MODE_INVALID"),
        (FAKE_TO_CONSOLE.replace('plugin_input = "fake"', 'plugin_input = "nope"'), "JOB_CONFIG_INPUT_UNRESOLVED"),
        (FAKE_TO_CONSOLE.replace("row.num = 16", 'password = "[[secret:missing]]"'), "JOB_CONFIG_SECRET_UNKNOWN"),
    ],
)
def test_a_bad_config_is_refused_with_its_problems_and_nothing_is_written(client, world, config, code):
    before = (Event.objects.count(), Job.unscoped.count(), JobVersion.unscoped.count())
    response = create(client, world, config=config)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in ("JOB_CONFIG_INVALID", code)
    problems = error["details"].get("problems", [{"code": error["code"]}])
    assert code in {p["code"] for p in problems}
    assert (Event.objects.count(), Job.unscoped.count(), JobVersion.unscoped.count()) == before


def test_the_cluster_must_be_in_the_same_workspace(client, world):
    response = create(client, world, cluster_id=world.objects["beta_cluster"])
    assert response.status_code == 404 and response.json()["error"]["code"] == "CLUSTER_NOT_FOUND"


def test_the_job_quota_is_enforced(client, world):
    from controlplane.tenancy import actions as tenancy

    tenancy.do_set_quotas(metadata=_meta(world), tenant_id=world.acme.id, quotas={"jobs": 1})
    response = create(client, world)
    assert response.status_code == 409 and response.json()["error"]["code"] == "TENANT_QUOTA_EXCEEDED"


def test_job_read_models_rebuild_row_for_row(world):
    before = read_model_fingerprint()
    assert before["jobs_jobversion"] and before["jobs_job"]
    rebuild()
    assert read_model_fingerprint() == before


def _meta(world):
    from controlplane.eventlog.metadata import Metadata

    return Metadata.for_system(world.acme.id, reason="tests", workspace_id=world.acme_ws.id)
