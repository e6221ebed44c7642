"""Findings 5 and 6: what a member holding only a workspace grant can tell and do; a tenant keeps an owner."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.iam.models import Membership
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Workspace
from tests.api.world import World, acting, build_world

pytestmark = pytest.mark.django_db
T = "/api/v1/tenants/acme"


@pytest.fixture
def world() -> World:
    built = build_world()
    meta = Metadata.for_system(None, reason="tests")
    tenancy.do_create_workspace(metadata=meta, tenant_id=built.acme.id, name="Hidden", slug="hidden")
    built.users["ws"] = User.objects.create_user("ws-user")
    iam.do_grant_role(
        metadata=acting(built.users["root"]),
        user=built.users["ws"],
        tenant=built.acme,
        workspace=built.acme_ws,
        role="operator",
    )
    return built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def body(response) -> dict:  # type: ignore[no-untyped-def]
    error = response.json()["error"]
    error.pop("request_id")
    return {"status": response.status_code, **error}


@pytest.mark.parametrize(
    "suffix", ["", "jobs/", "secrets/", "clusters/", "runs/", "operations/", "agents/", "job-templates/"]
)
def test_a_workspace_member_cannot_tell_another_workspace_from_a_made_up_one(client, world, suffix):
    auth = world.auth("ws")
    real = client.get(f"{T}/workspaces/hidden/{suffix}", **auth)
    made_up = client.get(f"{T}/workspaces/no-such-ws/{suffix}", **auth)
    assert body(real) == body(made_up)
    assert real.status_code == 404 and real.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(f"{T}/workspaces/etl/{suffix}", **auth).status_code == 200  # their own one works


def test_a_non_member_gets_the_same_404_for_a_real_and_a_made_up_tenant(client, world):
    auth = world.auth("outsider")
    for suffix in ("", "workspaces/", "workspaces/etl/", "workspaces/etl/jobs/", "members/", "tokens/", "audit/"):
        real = client.get(f"{T}/{suffix}", **auth)
        made_up = client.get(f"/api/v1/tenants/no-such-tenant/{suffix}", **auth)
        assert body(real) == body(made_up) and real.status_code == 404, suffix


def test_a_workspace_member_lists_what_they_can_see_and_makes_their_own_tokens(client, world):
    auth = world.auth("ws")
    assert [t["slug"] for t in client.get("/api/v1/tenants/", **auth).json()["results"]] == ["acme"]
    listed = client.get(f"{T}/workspaces/", **auth)
    assert listed.status_code == 200 and [w["slug"] for w in listed.json()["results"]] == ["etl"]
    made = client.post(f"{T}/tokens/", {"name": "ci"}, content_type="application/json", **auth)
    assert made.status_code == 201
    token = {"HTTP_AUTHORIZATION": f"Bearer {made.json()['token']}"}
    assert client.get(f"{T}/workspaces/etl/jobs/", **token).status_code == 200
    assert client.get(f"{T}/workspaces/hidden/jobs/", **token).status_code == 404
    assert [t["name"] for t in client.get(f"{T}/tokens/", **auth).json()["results"]] == ["ci"]
    # still nothing tenant-wide beyond that
    assert client.get(f"{T}/members/", **auth).status_code == 403
    assert (
        client.post(f"{T}/workspaces/", {"name": "X", "slug": "x"}, content_type="application/json", **auth).status_code
        == 403
    )


def _owner_membership(world: World) -> Membership:
    return Membership.objects.get(user=world.users["owner"], tenant=world.acme, scope="")


@pytest.mark.parametrize("who", ["owner", "root"])
def test_the_last_owner_of_a_tenant_can_be_neither_demoted_nor_removed(client, world, who):
    url = f"{T}/members/{_owner_membership(world).pk}/"
    demoted = client.patch(url, {"role": "admin"}, content_type="application/json", **world.auth(who))
    assert demoted.status_code == 409 and demoted.json()["error"]["code"] == "TENANT_LAST_OWNER"
    removed = client.delete(url, **world.auth(who))
    assert removed.status_code == 409 and removed.json()["error"]["code"] == "TENANT_LAST_OWNER"
    assert _owner_membership(world).role == "owner"
    # with a second owner, the first may step down
    client.patch(
        f"{T}/members/{world.objects['acme_member']}/",
        {"role": "owner"},
        content_type="application/json",
        **world.auth(who),
    )
    assert client.patch(url, {"role": "admin"}, content_type="application/json", **world.auth(who)).status_code == 200


def test_a_workspace_owner_grant_does_not_count_as_the_tenants_owner(world):
    iam.do_grant_role(
        metadata=acting(world.users["root"]),
        user=world.users["ws"],
        tenant=world.acme,
        workspace=world.acme_ws,
        role="owner",
    )
    with pytest.raises(iam.IamError) as refused:
        iam.do_revoke_role(metadata=acting(world.users["root"]), membership=_owner_membership(world))
    assert refused.value.code == "TENANT_LAST_OWNER"
    assert Workspace.objects.filter(tenant=world.acme).count() == 2
