"""Refused requests are on the trail of the tenant they aimed at, reads included: a 403, a 404 on a tenant the
caller may not see, or on an id that belongs to another tenant. Slugs no tenant has go to the platform trail.
Each refusal is one small record, so a flood of them costs rows of bounded size, never more."""

from __future__ import annotations

import json

import pytest

from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.secrets import actions as secrets
from controlplane.tenancy.models import Workspace

pytestmark = pytest.mark.django_db


def _trail(tenant_id: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(tenant_id=tenant_id).order_by("id"))


def test_a_probe_against_another_tenant_is_on_that_tenants_trail(client, place):
    beta_ws = Workspace.objects.get(tenant=place.beta)
    answer = client.get("/api/v1/tenants/beta/", **place.auth("acme"))
    assert answer.status_code == 404
    answer = client.get("/api/v1/tenants/beta/workspaces/beta-ws/secrets/", **place.auth("acme"))
    assert answer.status_code == 404
    rows = _trail(place.beta.id)
    assert [(r.action, r.result, r.error_code, r.actor_id, r.workspace_id) for r in rows] == [
        ("tenant.retrieve", "denied", "NOT_FOUND", "acme-user", ""),
        ("secret.list", "denied", "NOT_FOUND", "acme-user", beta_ws.id),
    ]
    # beta's owner reads it in beta's audit
    seen = client.get("/api/v1/tenants/beta/audit/?result=denied", **place.auth("beta")).json()["results"]
    assert [(r["action"], r["actor_id"]) for r in seen] == [
        ("secret.list", "acme-user"),
        ("tenant.retrieve", "acme-user"),
    ]
    assert not AuditRecord.objects.filter(tenant_id="").exists()  # nothing without a tenant


def test_an_id_of_another_tenant_in_the_callers_own_path_is_on_the_owners_trail(client, place):
    meta = Metadata.for_system(None, reason="tests")
    beta_ws = Workspace.objects.get(tenant=place.beta)
    beta_secret = secrets.do_create_secret(
        metadata=meta, tenant_id=place.beta.id, workspace_id=beta_ws.id, name="db", value="v"
    )
    answer = client.get(f"/api/v1/tenants/acme/workspaces/etl/secrets/{beta_secret}/", **place.auth("acme"))
    assert answer.status_code == 404
    (row,) = _trail(place.beta.id)
    assert (row.action, row.resource_id, row.result, row.workspace_id) == (
        "secret.retrieve",
        beta_secret,
        "denied",
        beta_ws.id,
    )
    # an id that exists nowhere, and a read that succeeds, are not refusals: no record
    assert client.get("/api/v1/tenants/acme/workspaces/etl/secrets/no-such/", **place.auth("acme")).status_code == 404
    assert client.get("/api/v1/tenants/acme/workspaces/etl/secrets/", **place.auth("acme")).status_code == 200
    assert _trail(place.acme.id) == []


def test_a_forbidden_read_is_on_the_tenants_trail(client, place):
    answer = client.get("/api/v1/tenants/acme/audit/", **place.auth("viewer"))
    assert answer.status_code == 403
    (row,) = _trail(place.acme.id)
    assert (row.action, row.result, row.error_code, row.actor_id) == (
        "audit.list",
        "denied",
        "PERMISSION_DENIED",
        "viewer-user",
    )


def test_slugs_no_tenant_has_go_to_the_platform_trail_with_what_was_tried(client, place):
    assert client.get("/api/v1/tenants/ghost/", **place.auth("acme")).status_code == 404
    answer = client.get("/api/v1/tenants/ghost/workspaces/nope/clusters/", **place.auth("acme"))
    assert answer.status_code == 404
    # an existing tenant the caller may not see, with a workspace it does not have: that tenant's trail
    assert client.get("/api/v1/tenants/beta/workspaces/nope/clusters/", **place.auth("acme")).status_code == 404
    platform = _trail("")
    assert [(r.action, json.loads(r.details)) for r in platform] == [
        ("tenant.retrieve", {"tenant_slug": "ghost"}),
        ("cluster.list", {"tenant_slug": "ghost", "workspace_slug": "nope"}),
    ]
    (row,) = _trail(place.beta.id)
    assert (row.action, row.workspace_id, json.loads(row.details)) == ("cluster.list", "", {"workspace_slug": "nope"})
    # the platform administrator reads them in the platform trail
    seen = client.get("/api/v1/audit/?tenant=none&result=denied", **place.auth("root")).json()["results"]
    assert [r["details"] for r in seen] == [
        {"tenant_slug": "ghost", "workspace_slug": "nope"},
        {"tenant_slug": "ghost"},
    ]


def test_a_flood_of_refusals_is_one_small_record_each(client, place):
    huge = "x" * 10_000
    for n in range(40):
        answer = client.get(
            f"/api/v1/tenants/{huge}{n}/workspaces/{huge}/jobs/", HTTP_USER_AGENT=huge, **place.auth("acme")
        )
        assert answer.status_code == 404
    rows = AuditRecord.objects.filter(tenant_id="", action="job.list")
    assert rows.count() == 40
    for row in rows:
        stored = sum(len(str(getattr(row, f.attname))) for f in AuditRecord._meta.concrete_fields)
        assert stored < 1024, stored
