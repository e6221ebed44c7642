"""A websocket refused for lack of permission (4403), or as not found for an object or tenant that exists but is
not the caller's (4404), leaves one audit record on the trail of the tenant it aimed at, as a refused API read
does. A tenant slug that names no tenant goes to the platform trail; refusals for a missing credential or an id
that exists nowhere are not recorded."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync

from controlplane.audit.models import AuditRecord
from controlplane.iam.models import ApiToken
from controlplane.live import admission
from tests.live.test_consumers import refused
from tests.live.world import LiveWorld, build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world() -> LiveWorld:
    built = build()
    built.jwts = {name: built.jwt(name) for name in built.users}
    return built


def _denials() -> list[tuple]:
    return list(
        AuditRecord.objects.filter(action="live.connect")
        .order_by("id")
        .values_list("tenant_id", "workspace_id", "resource_type", "resource_id", "result", "error_code", "actor_id")
    )


def test_refused_sockets_are_on_the_trail_of_the_tenant_they_aimed_at(world):
    acme_run = world.runs["acme"]
    outsider_token = ApiToken.objects.get(user=world.users["outsider"]).id

    async def main() -> None:
        # a member of beta probes acme's run and activity: not found, on acme's trail
        assert await refused(f"/ws/v1/runs/{acme_run}/", token=world.tokens["outsider"]) == admission.NOT_FOUND
        assert await refused("/ws/v1/tenants/acme/activity/", token=world.jwts["outsider"]) == admission.NOT_FOUND
        # a member of acme with no role in the run's workspace: not found (as if made up), on acme's trail
        assert await refused(f"/ws/v1/runs/{acme_run}/", token=world.jwts["other-only"]) == admission.NOT_FOUND
        # a slug no tenant has: the platform trail, with the slug tried
        assert await refused("/ws/v1/tenants/ghost/activity/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        # not recorded: no credential, an id that exists nowhere
        assert await refused(f"/ws/v1/runs/{acme_run}/") == admission.UNAUTHENTICATED
        assert await refused("/ws/v1/runs/no-such-run/", token=world.jwts["viewer"]) == admission.NOT_FOUND

    async_to_sync(main)()

    acme, etl = world.acme.id, world.etl.id
    assert _denials() == [
        (acme, etl, "run", acme_run, "denied", "NOT_FOUND", outsider_token),
        (acme, "", "tenant_activity", "acme", "denied", "NOT_FOUND", "outsider"),
        (acme, etl, "run", acme_run, "denied", "NOT_FOUND", "other-only"),
        ("", "", "tenant_activity", "ghost", "denied", "NOT_FOUND", "viewer-user"),
    ]
    ghost = AuditRecord.objects.get(action="live.connect", tenant_id="")
    assert json.loads(ghost.details) == {"tenant_slug": "ghost"}
