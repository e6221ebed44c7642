"""Tenants: creation by platform admins, visibility, disabling, quotas, fail-closed scoping, error envelope."""

from __future__ import annotations

import pytest
from django.test import Client

from controlplane.eventlog.models import Event
from controlplane.eventlog.store import read_stream
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.context import bound
from controlplane.tenancy.domain.aggregate import TenancyError
from controlplane.tenancy.models import Tenant
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def test_only_a_platform_admin_creates_tenants(client, world):
    body = {"name": "Gamma", "slug": "gamma"}
    denied = client.post("/api/v1/tenants/", body, content_type="application/json", **world.auth("owner"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "PERMISSION_DENIED"
    created = client.post("/api/v1/tenants/", body, content_type="application/json", **world.auth("root"))
    assert created.status_code == 201 and created["ETag"] == '"1"'
    assert created.json()["slug"] == "gamma"
    again = client.post("/api/v1/tenants/", body, content_type="application/json", **world.auth("root"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "TENANT_SLUG_TAKEN"
    bad = client.post("/api/v1/tenants/", {"name": ""}, content_type="application/json", **world.auth("root"))
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "VALIDATION_FAILED" and set(error["details"]["fields"]) == {"name", "slug"}
    assert error["request_id"] == bad["X-Request-ID"]


def test_tenant_list_shows_only_visible_tenants(client, world):
    slugs = lambda who: [t["slug"] for t in client.get("/api/v1/tenants/", **world.auth(who)).json()["results"]]  # noqa: E731
    assert slugs("viewer") == ["acme"]
    assert slugs("outsider") == ["beta"]
    assert slugs("root") == ["acme", "beta"]


def test_disabled_tenant_refuses_its_users_and_tokens(client, world):
    token = client.post(
        "/api/v1/tenants/acme/tokens/", {"name": "bot"}, content_type="application/json", **world.auth("viewer")
    ).json()["token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/tenants/acme/", **bearer).status_code == 200
    response = client.post(
        "/api/v1/tenants/acme/disable/",
        {"reason": "contract ended"},
        content_type="application/json",
        **world.auth("owner"),
    )
    assert response.status_code == 200 and response.json()["disabled"] is True
    refused = client.get("/api/v1/tenants/acme/", **world.auth("viewer"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "TENANT_DISABLED"
    token_refused = client.get("/api/v1/tenants/acme/", **bearer)
    assert token_refused.status_code == 401 and token_refused.json()["error"]["code"] == "AUTH_FAILED"
    # the data stays, and the platform admin can still see and re-enable it
    assert client.get("/api/v1/tenants/acme/workspaces/", **world.auth("root")).json()["results"]
    enabled = client.post("/api/v1/tenants/acme/enable/", {}, content_type="application/json", **world.auth("root"))
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert client.get("/api/v1/tenants/acme/", **bearer).status_code == 200
    types = [e.event_type for e in read_stream(f"tenant-{world.acme.id}")]
    assert types[-2:] == ["tenancy.tenant_disabled", "tenancy.tenant_enabled"]
    disabled = read_stream(f"tenant-{world.acme.id}")[-2]
    assert disabled.metadata.actor.id == "owner-user" and disabled.payload["reason"] == "contract ended"


def test_quotas_are_set_and_enforced(client, world):
    response = client.put(
        "/api/v1/tenants/acme/quotas/",
        {"clusters": 2, "jobs": None},
        content_type="application/json",
        **world.auth("owner"),
    )
    assert response.status_code == 200
    assert response.json()["quotas"] == {"clusters": 2, "jobs": None, "concurrent_runs": None}
    assert (
        Event.objects.filter(stream_id=f"tenant-{world.acme.id}").latest("position").event_type == "tenancy.quotas_set"
    )
    tenancy.check_quota(world.acme.id, "clusters", in_use=1)
    with pytest.raises(TenancyError) as info:
        tenancy.check_quota(world.acme.id, "clusters", in_use=2)
    assert info.value.code == "TENANT_QUOTA_EXCEEDED" and info.value.details["limit"] == 2
    bad = client.put(
        "/api/v1/tenants/acme/quotas/", {"clusters": -1}, content_type="application/json", **world.auth("owner")
    )
    assert bad.status_code == 400 and "clusters" in bad.json()["error"]["details"]["fields"]


def test_if_match_current_version_succeeds_and_etag_moves(client, world):
    current = client.get("/api/v1/tenants/acme/", **world.auth("owner"))["ETag"]
    renamed = client.patch(
        "/api/v1/tenants/acme/",
        {"name": "Acme Two"},
        content_type="application/json",
        HTTP_IF_MATCH=current,
        **world.auth("owner"),
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Two"
    assert renamed["ETag"] != current
    stale = client.patch(
        "/api/v1/tenants/acme/",
        {"name": "Acme Three"},
        content_type="application/json",
        HTTP_IF_MATCH=current,
        **world.auth("owner"),
    )
    assert stale.status_code == 412
    assert Tenant.objects.get(slug="acme").name == "Acme Two"


def test_concurrent_write_between_read_and_append_is_a_409(world):
    version = Tenant.objects.get(slug="acme").version
    tenancy.do_rename_tenant(metadata=_meta(), tenant_id=world.acme.id, name="First", expected_version=version)
    with pytest.raises(Exception) as info:
        tenancy.do_rename_tenant(metadata=_meta(), tenant_id=world.acme.id, name="Second", expected_version=version)
    assert info.value.code == "EVENTLOG_CONCURRENCY_CONFLICT"


def test_scoped_managers_fail_closed(world):
    # every tenant-owned read model: nothing without a bound tenant, only that tenant's rows with one
    from django.apps import apps

    from controlplane.audit.models import AuditRecord  # noqa: F401  (a plain table, not scoped)
    from controlplane.tenancy.scoping import TenantOwned

    owned = [m for m in apps.get_models() if issubclass(m, TenantOwned)]
    for model in owned:
        assert model.objects.count() == 0
        with bound(world.beta.id):
            assert all(row.tenant_id == world.beta.id for row in model.objects.all())
        assert model.unscoped.count() >= model.objects.count()


def test_events_from_the_api_carry_who_and_where(client, world):
    before = Event.objects.count()
    client.post(
        "/api/v1/tenants/acme/workspaces/",
        {"name": "R", "slug": "r"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-42",
        REMOTE_ADDR="10.1.2.3",
        **world.auth("admin"),
    )
    event = Event.objects.order_by("position")[before]
    assert (event.tenant_id, event.actor_kind, event.actor_id) == (world.acme.id, "user", "admin-user")
    assert (event.request_id, event.client_address) == ("req-42", "10.1.2.3")


def _meta():
    from controlplane.eventlog.metadata import Metadata

    return Metadata.for_system(None, reason="tests")
