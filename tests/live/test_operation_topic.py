"""An operation's live feed: its own events and those of the agent actions it caused, whichever stream they
are on, resumed mid-way without gap or duplicate; another operation's actions never leak in.

The operation is a real ``run_action`` on two agents (registered through the control plane, driven through the
agent-side functions the agent API calls), advanced the way the Celery task would."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.agents.actions import action_stream
from controlplane.agents.models import Action
from controlplane.asgi import application
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.live import admission
from controlplane.operations import actions, runner
from controlplane.operations.actions import operation_stream
from controlplane.tenancy.models import Tenant
from tests.operations.agent_sim import register_agent
from tests.operations.conftest import make_place

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 20


def feed_of(operation_id: str, after: int) -> list[int]:
    """What the operation's feed must hold after ``after``, read straight from the log."""
    streams = [operation_stream(operation_id).id]
    streams += [
        action_stream(a).id for a in Action.unscoped.filter(operation_id=operation_id).values_list("id", flat=True)
    ]
    return list(
        Event.objects.filter(stream_id__in=streams, position__gt=after)
        .order_by("position")
        .values_list("position", flat=True)
    )


def head() -> int:
    return Event.objects.order_by("-position").values_list("position", flat=True).first() or 0


def test_an_operation_feed_follows_its_agent_actions_and_resumes_without_gap(tmp_path):
    place = make_place()
    tenant = Tenant.objects.get(id=place.tenant_id)
    viewer = User.objects.create_user("ops-viewer")
    iam.do_grant_role(user=viewer, tenant=tenant, role="viewer", metadata=Metadata.for_system(None, reason="tests"))
    jwt = str(RefreshToken.for_user(viewer).access_token)
    outsider = User.objects.create_user("ops-outsider")
    outsider_jwt = str(RefreshToken.for_user(outsider).access_token)
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2)]
    op_id = actions.do_request_operation(
        metadata=place.meta,
        cluster=place.cluster,
        type="run_action",
        params={"action": "service.status", "params": {}, "batch_size": 1},
    )
    other_id = actions.do_request_operation(
        metadata=place.meta, cluster=place.cluster, type="run_action", params={"action": "service.status", "params": {}}
    )
    start = head()
    protocols = [admission.PROTOCOL, f"{admission.BEARER_PROTOCOL_PREFIX}{jwt}"]

    def step(operation_id: str) -> None:
        runner.advance(operation_id)
        for node in nodes:
            node.serve()

    async def received(communicator: WebsocketCommunicator, count: int) -> list[int]:
        return [json.loads(await communicator.receive_from(timeout=WAIT))["position"] for _ in range(count)]

    async def main() -> None:
        # no role in the tenant: not found; unknown operation: not found
        for path, token in ((f"/ws/v1/operations/{op_id}/", outsider_jwt), ("/ws/v1/operations/nope/", jwt)):
            bad = WebsocketCommunicator(application, path, subprotocols=[admission.PROTOCOL, f"bearer.{token}"])
            assert (await bad.connect(timeout=WAIT))[0]
            assert (await bad.receive_output(timeout=WAIT))["code"] == admission.NOT_FOUND
            await bad.disconnect()

        first = WebsocketCommunicator(application, f"/ws/v1/operations/{op_id}/?after={start}", subprotocols=protocols)
        assert (await first.connect(timeout=WAIT))[0]
        for _ in range(3):  # the first batch: its action is requested and, by the agent, run and reported
            await database_sync_to_async(step)(op_id)
            await database_sync_to_async(step)(other_id)
        expected = await database_sync_to_async(feed_of)(op_id, start)
        assert any(e for e in expected)  # sanity: there is something to see
        seen = await received(first, len(expected))
        assert seen == expected
        await first.disconnect()

        # away: the rest of the operation (the second batch, its action on the other agent) happens
        for _ in range(40):
            await database_sync_to_async(step)(op_id)
            await database_sync_to_async(step)(other_id)
        second = WebsocketCommunicator(
            application, f"/ws/v1/operations/{op_id}/?after={seen[-1]}", subprotocols=protocols
        )
        assert (await second.connect(timeout=WAIT))[0]
        expected = await database_sync_to_async(feed_of)(op_id, seen[-1])
        assert await received(second, len(expected)) == expected
        await second.disconnect()

        types = await database_sync_to_async(
            lambda: set(Event.objects.filter(position__in=feed_of(op_id, start)).values_list("event_type", flat=True))
        )()
        # the operation's own events and the whole life of its agent actions (which name only the action)
        assert {
            "operations.operation_succeeded",
            "agents.action_requested",
            "agents.action_progressed",
            "agents.action_succeeded",
        } <= types
        other_actions = await database_sync_to_async(
            lambda: set(Action.unscoped.filter(operation_id=other_id).values_list("id", flat=True))
        )()
        assert other_actions  # the other operation did ask its agents, and none of that was in the feed above
        mine = await database_sync_to_async(
            lambda: set(Action.unscoped.filter(operation_id=op_id).values_list("id", flat=True))
        )()
        assert len(mine) == 2 and not (mine & other_actions)

    async_to_sync(main)()
