"""Idempotency keys on creating POSTs, and the audit API (filters, cursor pages, streamed exports)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from controlplane.audit.recorder import record
from controlplane.tenancy.models import Workspace
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def create_ws(client, world, body, key):
    return client.post(
        "/api/v1/tenants/acme/workspaces/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **world.auth("admin"),
    )


def test_a_retried_post_returns_the_first_result_and_creates_nothing_more(client, world):
    first = create_ws(client, world, {"name": "A", "slug": "a"}, "key-1")
    again = create_ws(client, world, {"name": "A", "slug": "a"}, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Workspace.objects.filter(tenant=world.acme, slug="a").count() == 1
    other = create_ws(client, world, {"name": "B", "slug": "b"}, "key-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    bad = create_ws(client, world, {"name": "C", "slug": "c"}, "not a key!")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"


def test_a_failed_request_can_be_retried_with_the_same_key(client, world):
    failed = create_ws(client, world, {"name": "", "slug": "a"}, "key-2")
    assert failed.status_code == 400
    assert create_ws(client, world, {"name": "", "slug": "a"}, "key-2").status_code == 400  # ran again
    assert create_ws(client, world, {"name": "fixed", "slug": "a"}, "key-3").status_code == 201


def test_keys_belong_to_their_caller(client, world):
    assert create_ws(client, world, {"name": "A", "slug": "a"}, "shared").status_code == 201
    owner = client.post(
        "/api/v1/tenants/acme/workspaces/",
        {"name": "A", "slug": "a"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="shared",
        **world.auth("owner"),
    )
    assert owner.status_code == 409 and owner.json()["error"]["code"] == "WORKSPACE_SLUG_TAKEN"


def _seed_audit(world: World, n: int) -> None:
    for i in range(n):
        record(
            action="job.run" if i % 2 else "job.stop",
            resource_type="job",
            resource_id=f"job-{i}",
            result="ok" if i % 3 else "denied",
            actor_kind="user",
            actor_id=f"u{i % 4}",
            tenant_id=world.acme.id,
            details={"i": i},
        )
    record(action="job.run", resource_type="job", result="ok", actor_kind="user", actor_id="b", tenant_id=world.beta.id)


def test_audit_list_filters_and_pages_with_a_cursor(client, world):
    _seed_audit(world, 30)
    seen, url = [], "/api/v1/tenants/acme/audit/?resource_type=job&page_size=7"
    while url:
        page = client.get(url, **world.auth("admin")).json()
        seen.extend(page["results"])
        url = page["next"]
    assert len(seen) == 30 and len({r["id"] for r in seen}) == 30
    assert [r["id"] for r in seen] == sorted((r["id"] for r in seen), reverse=True)
    denied = client.get("/api/v1/tenants/acme/audit/?result=denied&actor=u0", **world.auth("admin")).json()
    assert denied["results"] and all(r["result"] == "denied" and r["actor_id"] == "u0" for r in denied["results"])
    assert all(r["tenant_id"] == world.acme.id for r in seen)
    bad = client.get("/api/v1/tenants/acme/audit/?since=yesterday", **world.auth("admin"))
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "since"


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_audit_export_streams_and_is_itself_audited(client, world, kind):
    _seed_audit(world, 25)
    response = client.get(f"/api/v1/tenants/acme/audit/export/?format={kind}&action=job.run", **world.auth("admin"))
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode()
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 12 and {r["action"] for r in rows} == {"job.run"}
    assert {r["tenant_id"] for r in rows} == {world.acme.id}
    assert client.get("/api/v1/tenants/acme/audit/", **world.auth("admin")).json()["results"][0]["action"] == (
        "audit.export"
    )


def test_platform_audit_is_for_platform_admins_and_covers_tenantless_records(client, world):
    login = client.post("/api/v1/auth/token/", {"username": "nobody", "password": "x"}, content_type="application/json")
    assert login.status_code == 401
    _seed_audit(world, 3)
    denied = client.get("/api/v1/audit/", **world.auth("owner"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "PERMISSION_DENIED"
    failed_logins = client.get("/api/v1/audit/?tenant=none&action=auth.login", **world.auth("root")).json()
    assert [(r["actor_id"], r["result"]) for r in failed_logins["results"]] == [("nobody", "denied")]
    beta = client.get(f"/api/v1/audit/?tenant={world.beta.id}", **world.auth("root")).json()["results"]
    assert beta and {r["tenant_id"] for r in beta} == {world.beta.id}
    export = client.get("/api/v1/audit/export/?format=jsonl&result=denied", **world.auth("root"))
    rows = [json.loads(line) for line in b"".join(export.streaming_content).decode().splitlines()]
    assert rows and {r["result"] for r in rows} == {"denied"}
