"""Finding 1: a personal API token bound to a tenant reaches nothing outside that tenant, even when its owner
is a platform administrator; platform-wide powers need a platform token, made explicitly and audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from controlplane.audit.models import AuditRecord
from controlplane.iam import actions as iam
from tests.api.endpoints import ANONYMOUS, ENDPOINTS, PERSONAL, PLATFORM, UNSCOPED, PlatformEndpoint
from tests.api.test_meta import _api_routes
from tests.api.world import World, acting, build_world, world_for_module

pytestmark = pytest.mark.django_db


def _build() -> World:
    built = build_world()
    root = built.users["root"]
    _, built.objects["root_acme_token"] = iam.do_create_api_token(
        metadata=acting(root), tenant=built.acme, name="acme only"
    )
    platform, built.objects["root_platform_token"] = iam.do_create_api_token(
        metadata=acting(root), tenant=None, name="platform", kind="platform"
    )
    built.objects["platform_token"] = platform.id
    return built


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker, _build) as built:
        yield built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def bearer(world: World, key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {world.objects[key]}"}


def call(client: Client, endpoint: PlatformEndpoint, world: World, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    method = getattr(client, endpoint.method)
    if endpoint.method in ("get", "delete"):
        return method(endpoint.path(world), **headers)
    return method(
        endpoint.path(world), endpoint.body(world) if endpoint.body else {}, content_type="application/json", **headers
    )


def test_every_route_outside_a_tenant_is_classified():
    """A new route outside /tenants/<tenant>/ must say who may call it, or this fails."""
    unscoped = {r for r in _api_routes() if r.split(".")[0] in UNSCOPED}
    classified = {e.name for e in PLATFORM} | PERSONAL | ANONYMOUS
    assert unscoped - classified == set(), "classify these routes in tests/api/endpoints.py"
    assert classified - unscoped == set(), "these classified routes no longer exist"


@pytest.mark.parametrize("endpoint", PLATFORM, ids=lambda e: e.name)
def test_a_platform_admins_tenant_token_is_refused_on_every_platform_endpoint(client, world, endpoint):
    response = call(client, endpoint, world, bearer(world, "root_acme_token"))
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("endpoint", PLATFORM, ids=lambda e: e.name)
def test_a_platform_token_and_a_login_reach_every_platform_endpoint(client, world, endpoint):
    assert call(client, endpoint, world, bearer(world, "root_platform_token")).status_code == endpoint.ok
    assert call(client, endpoint, world, world.auth("root")).status_code in (endpoint.ok, 404, 409)  # already done


def test_a_tenant_token_lists_only_its_own_tenant(client, world):
    listed = client.get("/api/v1/tenants/", **bearer(world, "root_acme_token")).json()["results"]
    assert [t["slug"] for t in listed] == ["acme"]
    me = client.get("/api/v1/auth/me/", **bearer(world, "root_acme_token")).json()
    assert me["platform_admin"] is False and me["token_kind"] == "tenant" and me["token_tenant"] == "acme"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_a_platform_admins_tenant_token_gets_404_in_every_other_tenant(client, world, endpoint):
    path = endpoint.path(world, "owner").replace("/tenants/acme/", "/tenants/beta/").replace("/etl/", "/beta-ws/")
    method = getattr(client, endpoint.method)
    args = {} if endpoint.method in ("get", "delete") else {"data": {}, "content_type": "application/json"}
    response = method(path, **args, **bearer(world, "root_acme_token"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_a_platform_token_reaches_no_tenant(client, world):
    assert client.get("/api/v1/tenants/acme/", **bearer(world, "root_platform_token")).status_code == 404
    assert client.get("/api/v1/tenants/acme/", **bearer(world, "root_acme_token")).status_code == 200


def test_only_a_platform_admin_makes_a_platform_token_and_it_is_audited(client, world):
    body = {"name": "auditor", "expires_at": None}
    owner = client.post("/api/v1/platform-tokens/", body, content_type="application/json", **world.auth("owner"))
    assert owner.status_code == 403 and owner.json()["error"]["code"] == "PERMISSION_DENIED"
    via_tenant_token = client.post(
        "/api/v1/platform-tokens/", body, content_type="application/json", **bearer(world, "root_acme_token")
    )
    assert via_tenant_token.status_code == 403
    made = client.post("/api/v1/platform-tokens/", body, content_type="application/json", **world.auth("root"))
    assert made.status_code == 201 and made.json()["kind"] == "platform" and made.json()["tenant"] is None
    record = AuditRecord.objects.filter(resource_type="platform_token", result="ok").order_by("-id").first()
    assert (record.action, record.resource_id, record.actor_id) == ("platform_token.create", made.json()["id"], "root")
    # a platform token stops working when its owner stops being a platform administrator
    root = User.objects.get(pk=world.users["root"].pk)  # a copy: the module's world is shared
    root.is_superuser = False
    root.save()
    refused = client.get("/api/v1/audit/", HTTP_AUTHORIZATION=f"Bearer {made.json()['token']}")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "AUTH_FAILED"
