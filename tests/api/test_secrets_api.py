"""Secrets through the API: values never in lists, reads, audit or idempotency records; reveal is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from controlplane.api.models import IdempotencyRecord
from controlplane.audit.models import AuditRecord
from controlplane.eventlog.models import Event
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db
VALUE = "pg-pass-Zq8!wLx"
BASE = "/api/v1/tenants/acme/workspaces/etl/secrets/"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def test_value_goes_in_once_and_comes_out_only_through_reveal(client, world):
    created = client.post(
        BASE,
        {"name": "warehouse", "value": VALUE},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="s-1",
        **world.auth("admin"),
    )
    assert created.status_code == 201 and VALUE not in created.content.decode()
    secret_id = created.json()["id"]
    listed = client.get(BASE, **world.auth("viewer"))
    assert "warehouse" in listed.content.decode() and VALUE not in listed.content.decode()
    viewer = client.post(f"{BASE}{secret_id}/reveal/", {}, content_type="application/json", **world.auth("viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["details"]["permission"] == "secret.reveal"
    revealed = client.post(f"{BASE}{secret_id}/reveal/", {}, content_type="application/json", **world.auth("admin"))
    assert revealed.status_code == 200 and revealed.json()["value"] == VALUE
    assert revealed["Cache-Control"] == "no-store"
    updated = client.put(
        f"{BASE}{secret_id}/",
        {"value": VALUE + "-2"},
        content_type="application/json",
        HTTP_IF_MATCH='"1"',
        **world.auth("admin"),
    )
    assert updated.status_code == 200 and updated["ETag"] == '"2"'
    old = client.post(
        f"{BASE}{secret_id}/reveal/", {"version": 1}, content_type="application/json", **world.auth("admin")
    )
    assert old.json()["value"] == VALUE
    reveals = AuditRecord.objects.filter(action="secret.reveal", resource_id=secret_id)
    assert [r.result for r in reveals.order_by("id")] == ["denied", "ok", "ok"]
    revealed_events = Event.objects.filter(event_type="secrets.secret_revealed", stream_id__endswith=secret_id)
    assert [e.actor_id for e in revealed_events] == ["admin-user", "admin-user"]
    for text in (
        *AuditRecord.objects.values_list("details", flat=True),
        *IdempotencyRecord.objects.values_list("response_body", flat=True),
        *Event.objects.values_list("payload", flat=True),
    ):
        assert VALUE not in text


def test_a_secret_of_another_workspace_is_404(client, world):
    from controlplane.eventlog.metadata import Metadata
    from controlplane.tenancy import actions as tenancy

    tenancy.do_create_workspace(
        metadata=Metadata.for_system(None, reason="tests"), tenant_id=world.acme.id, name="Other", slug="other"
    )
    secret_id = world.objects["acme_secret"]
    response = client.get(f"/api/v1/tenants/acme/workspaces/other/secrets/{secret_id}/", **world.auth("owner"))
    assert response.status_code == 404


def test_bad_secret_input_is_coded_and_writes_nothing(client, world):
    before = Event.objects.count()
    taken = client.post(
        BASE, {"name": "db-password", "value": "x"}, content_type="application/json", **world.auth("admin")
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "SECRET_EXISTS"
    bad = client.post(
        BASE, {"name": "no spaces allowed", "value": "x"}, content_type="application/json", **world.auth("admin")
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "SECRET_NAME_INVALID"
    missing = client.post(BASE, {"name": "x"}, content_type="application/json", **world.auth("admin"))
    assert missing.status_code == 400 and "value" in missing.json()["error"]["details"]["fields"]
    assert Event.objects.count() == before
