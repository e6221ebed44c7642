"""Generated from endpoints.ENDPOINTS: for every tenant API endpoint, authentication, each role, tenant
crossing, stale versions and the audit record are checked. Add an endpoint there, and it is tested here."""

from __future__ import annotations

import pytest
from django.test import Client

from controlplane.audit.models import AuditRecord
from controlplane.iam.permissions import ROLES
from tests.api.endpoints import ENDPOINTS, Endpoint
from tests.api.world import World, world_for_module

pytestmark = pytest.mark.django_db

IDS = [e.name for e in ENDPOINTS]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def call(client: Client, endpoint: Endpoint, path: str, world: World, headers: dict | None = None):
    body = endpoint.body(world) if endpoint.body else {}
    method = getattr(client, endpoint.method)
    if endpoint.method in ("get", "delete"):
        return method(path, **(headers or {}))
    return method(path, body, content_type="application/json", **(headers or {}))


def allowed(endpoint: Endpoint, role: str) -> bool:
    return endpoint.point is None or endpoint.point in ROLES[role]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_unauthenticated_is_401(client, world, endpoint):
    response = call(client, endpoint, endpoint.path(world, "viewer"), world)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_REQUIRED"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["viewer", "operator", "admin", "owner"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_each_role_is_allowed_or_denied_as_documented(client, world, endpoint, role):
    before = AuditRecord.objects.count()
    response = call(client, endpoint, endpoint.path(world, role), world, world.auth(role))
    if allowed(endpoint, role):
        assert response.status_code == endpoint.ok, response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "PERMISSION_DENIED"
        assert response.json()["error"]["details"]["permission"] == endpoint.point
        # refused, reads included: one record on the tenant's trail
        records = AuditRecord.objects.order_by("id")[before:]
        assert [(r.tenant_id, r.result, r.actor_id) for r in records] == [(world.acme.id, "denied", f"{role}-user")]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_another_tenants_member_gets_404_not_403(client, world, endpoint):
    before = AuditRecord.objects.count()
    response = call(client, endpoint, endpoint.path(world, "owner"), world, world.auth("outsider"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "acme" not in response.content.decode().lower()
    # the probe is on the trail of the tenant it aimed at, reads included
    records = AuditRecord.objects.order_by("id")[before:]
    assert [(r.tenant_id, r.result, r.error_code, r.actor_id) for r in records] == [
        (world.acme.id, "denied", "NOT_FOUND", "outsider")
    ]


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.cross_tenant_path], ids=lambda e: e.name)
def test_an_id_of_another_tenant_answers_404_under_yours(client, world, endpoint):
    response = call(client, endpoint, endpoint.cross_tenant_path(world), world, world.auth("owner"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.versioned], ids=lambda e: e.name)
def test_stale_if_match_is_412_and_changes_nothing(client, world, endpoint):
    events_before = _event_count()
    response = call(
        client, endpoint, endpoint.path(world, "owner"), world, {**world.auth("owner"), "HTTP_IF_MATCH": '"999"'}
    )
    assert response.status_code == 412, response.content
    assert response.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert _event_count() == events_before


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.mutating], ids=lambda e: e.name)
@pytest.mark.parametrize("role", ["viewer", "owner"])
def test_every_write_leaves_exactly_one_audit_record(client, world, endpoint, role):
    before = AuditRecord.objects.count()
    response = call(client, endpoint, endpoint.path(world, role), world, world.auth(role))
    records = list(AuditRecord.objects.order_by("id")[before:])
    assert len(records) == 1, [r.action for r in records]
    record = records[0]
    assert (record.actor_kind, record.actor_id) == ("user", f"{role}-user")
    assert record.tenant_id == world.acme.id
    assert record.request_id == response["X-Request-ID"]
    assert record.result == ("ok" if allowed(endpoint, role) else "denied")
    assert record.error_code == ("" if allowed(endpoint, role) else "PERMISSION_DENIED")


def _event_count() -> int:
    from controlplane.eventlog.models import Event

    return Event.objects.count()
