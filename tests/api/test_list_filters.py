"""The list filters (each app's ``api/filters.py``): they narrow exactly as documented, refuse a bad value with
400 VALIDATION_FAILED naming the parameter, and only ever narrow the caller's tenant (and objects)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from controlplane.audit.recorder import record
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db

ACME = "/api/v1/tenants/acme/workspaces/etl"
BETA = "/api/v1/tenants/beta/workspaces/beta-ws"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def ids(client: Client, world: World, url: str, who: str = "owner") -> list[str]:
    response = client.get(url, **world.auth(who))
    assert response.status_code == 200, response.content[:500]
    return [row["id"] for row in response.json()["results"]]


def refused(client: Client, world: World, url: str, field: str, who: str = "owner") -> None:
    response = client.get(url, **world.auth(who))
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert error["details"]["field"] == field and set(error["details"]["fields"]) == {field}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{ACME}/runs/?state=running", "state"),  # states are upper case: no silent empty list
        (f"{ACME}/operations/?state=DONE", "state"),
        (f"{ACME}/agents/?status=gone", "status"),
        (f"{ACME}/agent-actions/?state=QUEUED", "state"),
        ("/api/v1/tenants/acme/audit/?actor_kind=robot", "actor_kind"),
        ("/api/v1/tenants/acme/audit/?until=tomorrow", "until"),
        ("/api/v1/tenants/acme/audit/export/?format=csv&result=maybe", "result"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(client, world, url, field):
    refused(client, world, url, field)


def test_platform_audit_refuses_a_bad_filter_value(client, world):
    refused(client, world, "/api/v1/audit/?result=maybe&tenant=none", "result", who="root")


def test_a_filter_on_an_object_route_does_not_hide_the_object(client, world):
    run = world.objects["acme_run_running"]
    response = client.get(f"{ACME}/runs/{run}/?state=FAILED", **world.auth("owner"))
    assert response.status_code == 200 and response.json()["id"] == run


def test_runs_filter_exactly_and_within_the_tenant_and_the_callers_jobs(client, world):
    job, beta_job = world.objects["acme_job"], world.objects["beta_job"]
    assert ids(client, world, f"{ACME}/runs/?state=PAUSED") == [world.objects["acme_run_paused"]]
    assert len(ids(client, world, f"{ACME}/runs/?state=&job_id=")) == 5  # an empty value filters nothing
    assert len(ids(client, world, f"{ACME}/runs/?job_id={job}&cluster_id={world.objects['acme_cluster']}")) == 5
    assert ids(client, world, f"{ACME}/runs/?job_id={job[:-1]}") == []  # exact, not a prefix
    assert ids(client, world, f"{ACME}/runs/?job_id={beta_job}") == []
    assert ids(client, world, f"{ACME}/runs/?cluster_id={world.objects['beta_cluster']}") == []
    assert len(ids(client, world, f"{BETA}/runs/?job_id={beta_job}", who="outsider")) == 5
    # an operator on one job: a filter naming another job of the tenant finds nothing of it
    scheduled = world.objects["acme_scheduled_job"]
    assert ids(client, world, f"{ACME}/runs/?job_id={scheduled}", who="acme-job-operator") == []
    assert len(ids(client, world, f"{ACME}/runs/?job_id={job}", who="acme-job-operator")) == 5


def test_operations_filter_exactly_and_within_the_tenant(client, world):
    operation = world.objects["acme_operation"]
    assert ids(client, world, f"{ACME}/operations/?state=PENDING&type=testing.steps") == [operation]
    assert ids(client, world, f"{ACME}/operations/?state=RUNNING") == []
    assert ids(client, world, f"{ACME}/operations/?type=testing") == []  # exact, not a prefix
    diagnosis = world.objects["acme_archive"]  # the world's diagnose operation (its archive has its id), newer
    assert ids(client, world, f"{ACME}/operations/?type=diagnose") == [diagnosis]
    assert ids(client, world, f"{ACME}/operations/?cluster_id={world.objects['acme_cluster']}") == [
        diagnosis,
        operation,
    ]
    assert ids(client, world, f"{ACME}/operations/?cluster_id={world.objects['beta_cluster']}") == []
    beta = f"{BETA}/operations/?cluster_id={world.objects['beta_cluster']}"
    assert ids(client, world, beta, who="outsider") == [world.objects["beta_archive"], world.objects["beta_operation"]]


def test_agents_and_their_actions_filter_exactly_and_within_the_tenant(client, world):
    agent, beta_agent = world.objects["acme_agent"], world.objects["beta_agent"]
    assert ids(client, world, f"{ACME}/agents/?status=online&cluster_id={world.objects['acme_cluster']}") == [agent]
    assert ids(client, world, f"{ACME}/agents/?status=lost") == []
    assert ids(client, world, f"{ACME}/agents/?cluster_id={world.objects['beta_cluster']}") == []
    assert ids(client, world, f"{ACME}/agent-actions/?agent={agent}&state=PENDING") == [
        world.objects["acme_agent_action"]
    ]
    assert ids(client, world, f"{ACME}/agent-actions/?state=RUNNING") == []
    assert ids(client, world, f"{ACME}/agent-actions/?agent={beta_agent}") == []
    assert ids(client, world, f"{ACME}/agent-actions/?operation={world.objects['beta_operation']}") == []
    beta = f"{BETA}/agent-actions/?agent={beta_agent}"
    assert ids(client, world, beta, who="outsider") == [world.objects["beta_agent_action"]]


def test_audit_filters_exactly_with_a_half_open_time_range_and_within_the_tenant(client, world):
    mine = record(
        action="job.run",
        resource_type="job",
        result="ok",
        actor_kind="user",
        tenant_id=world.acme.id,
        request_id="req-acme",
    )
    theirs = record(
        action="job.run",
        resource_type="job",
        result="ok",
        actor_kind="user",
        tenant_id=world.beta.id,
        request_id="req-beta",
    )
    trail = "/api/v1/tenants/acme/audit/"
    assert ids(client, world, f"{trail}?request_id=req-acme") == [mine.id]
    assert ids(client, world, f"{trail}?request_id=req-acme&since=&until=") == [mine.id]  # empty: no filter
    assert ids(client, world, f"{trail}?request_id=req") == []  # exact, not a prefix
    assert ids(client, world, f"{trail}?request_id=req-beta") == []  # beta's record, asked for in acme
    at = mine.occurred_at.isoformat()
    assert ids(client, world, f"{trail}?{urlencode({'request_id': 'req-acme', 'since': at})}") == [mine.id]
    assert ids(client, world, f"{trail}?{urlencode({'request_id': 'req-acme', 'until': at})}") == []
    export = client.get(f"{trail}export/?format=jsonl&request_id=req-beta", **world.auth("owner"))
    assert export.status_code == 200 and b"".join(export.streaming_content) == b""
    assert ids(client, world, f"/api/v1/audit/?request_id=req-beta&tenant={world.beta.id}", who="root") == [theirs.id]
    assert ids(client, world, f"/api/v1/audit/?request_id=req-beta&tenant={world.acme.id}", who="root") == []
