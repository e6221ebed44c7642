"""64-bit ids reach a browser as strings: JavaScript reads every JSON number as a double, so an engine job id
such as 823277033685328313 would arrive as 823277033685328300. Every topic, live and resumed from the log."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.clusters.models import Cluster
from controlplane.eventlog import store
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, Run
from controlplane.operations import actions as operations
from tests.eventlog.events import ThingHappened
from tests.live.test_consumers import opened, receive
from tests.live.world import LiveWorld, build
from tests.operations import kinds as _operation_kinds  # noqa: F401  (the testing.steps type)

pytestmark = pytest.mark.django_db(transaction=True)

BIG = 823277033685328313  # an engine job id JavaScript cannot hold exactly
SAFE = 2**53 - 1


@pytest.fixture
def world() -> LiveWorld:
    built = build()
    built.jwts = {name: built.jwt(name) for name in built.users}
    return built


def _as_system(world: LiveWorld) -> Metadata:
    """Writers' metadata for what is not about who acts: the control plane, in acme's workspace."""
    return Metadata.for_system(world.acme.id, reason="tests", workspace_id=world.etl.id)


def _start_run(world: LiveWorld) -> str:
    return run_actions.do_start_run(
        metadata=_as_system(world), job=Job.unscoped.get(id=_job_id(world)), allow_overlap=True
    )


def _job_id(world: LiveWorld) -> str:
    return Run.unscoped.get(id=world.runs["acme"]).job_id


def _operation(world: LiveWorld) -> str:
    cluster = Cluster.unscoped.get(tenant_id=world.acme.id)
    return operations.do_request_operation(
        metadata=_as_system(world),
        cluster=cluster,
        type="testing.steps",
        params={"steps": [{"key": "a", "kind": "testing.record", "params": {"file": "/dev/null"}}]},
    )


def _append(stream: StreamRef, world: LiveWorld, n: int) -> int:
    meta = Metadata(tenant_id=world.acme.id, workspace_id=world.etl.id, actor=Actor(kind="user", id="tester"))
    return store.append(stream, store.stream_version(stream.id), [ThingHappened(n=n, label="big")], meta)[0].position


def _engine_ids(messages: list[dict]) -> list:
    return [m["data"]["engine_job_id"] for m in messages if "engine_job_id" in m["data"]]


def test_engine_job_ids_and_other_big_integers_are_strings_on_every_topic(world):
    run_id = world.runs["acme"]
    engine_id = Run.unscoped.get(id=run_id).engine_job_id
    assert engine_id > SAFE  # the ids the control plane chooses are past what a double holds

    async def main() -> None:
        # resumed from the log: the run's own requested event carries its engine job id
        run = await opened(f"/ws/v1/runs/{run_id}/?after=0", token=world.tokens["viewer"])
        (requested,) = await receive(run, 1)
        assert requested["type"] == "jobs.run_requested"
        assert requested["data"]["engine_job_id"] == str(engine_id)
        # live: any integer a browser would round is a string, a small one stays a number
        big = await database_sync_to_async(_append)(StreamRef("jobs.run", f"run-{run_id}"), world, BIG)
        small = await database_sync_to_async(_append)(StreamRef("jobs.run", f"run-{run_id}"), world, SAFE)
        assert [(m["position"], m["data"]["n"]) for m in await receive(run, 2)] == [(big, str(BIG)), (small, SAFE)]
        await run.disconnect()

        # the activity feed: a new run's requested event, live
        activity = await opened("/ws/v1/tenants/acme/activity/", token=world.jwts["viewer"])
        new_run = await database_sync_to_async(_start_run)(world)
        new_engine_id = await database_sync_to_async(lambda: Run.unscoped.get(id=new_run).engine_job_id)()
        messages = []
        while not _engine_ids(messages):
            messages += await receive(activity, 1)
        assert _engine_ids(messages) == [str(new_engine_id)]
        await activity.disconnect()

        # an operation's feed, live and resumed
        operation_id = await database_sync_to_async(_operation)(world)
        feed = await opened(f"/ws/v1/operations/{operation_id}/?after=0", token=world.jwts["viewer"])
        await receive(feed, 1)  # the operation's request
        position = await database_sync_to_async(_append)(
            StreamRef("operations.operation", f"operation-{operation_id}"), world, -BIG
        )
        (message,) = await receive(feed, 1)
        assert (message["position"], message["data"]["n"]) == (position, str(-BIG))
        await feed.disconnect()

    async_to_sync(main)()

    # The API answers the same ids as strings.
    auth = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(world.users['viewer']).access_token}"}
    answer = Client().get(f"/api/v1/tenants/acme/workspaces/etl/runs/{run_id}/", **auth)
    assert answer.status_code == 200, answer.content
    assert json.loads(answer.content)["engine_job_id"] == str(engine_id)
