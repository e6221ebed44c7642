"""Authentication: JWT with rotating, blacklisted refresh tokens; personal API tokens; login throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from controlplane.audit.models import AuditRecord
from controlplane.iam import throttle
from controlplane.iam.models import ApiToken
from controlplane.iam.tokens import digest
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def world() -> World:
    cache.clear()
    w = build_world()
    w.users["viewer"].set_password(PASSWORD)
    w.users["viewer"].save()
    return w


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def login(client: Client, password: str = PASSWORD, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/auth/token/",
        {"username": "viewer-user", "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_jwt_login_refresh_rotates_and_blacklists(client, world):
    pair = login(client).json()
    me = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert me.json() == {
        "username": "viewer-user",
        "platform_admin": False,
        "token": None,
        "token_kind": None,
        "token_tenant": None,
        "session": me.json()["session"],
    }
    assert me.json()["session"]
    rotated = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, content_type="application/json")
    assert rotated.status_code == 200 and rotated.json()["refresh"] != pair["refresh"]
    reused = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, content_type="application/json")
    assert reused.status_code == 401  # the old refresh token was blacklisted on rotation
    out = client.post("/api/v1/auth/logout/", {"refresh": rotated.json()["refresh"]}, content_type="application/json")
    assert out.status_code == 204
    after = client.post(
        "/api/v1/auth/token/refresh/", {"refresh": rotated.json()["refresh"]}, content_type="application/json"
    )
    assert after.status_code == 401


def test_failed_logins_are_audited_and_throttled(client, world, monkeypatch):
    monkeypatch.setattr(throttle, "now", lambda: 1_000_000.0)  # the clock stands still: the delay never passes
    with override_settings(CONTROLPLANE_LOGIN_MAX_FAILURES=3):
        for _ in range(3):
            assert login(client, "wrong").status_code == 401
        throttled = login(client)  # even the right password, from this address, during the delay
        assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "LOGIN_THROTTLED"
        console_request = RequestFactory().post("/admin/login/", REMOTE_ADDR="127.0.0.1")
        assert authenticate(console_request, username="viewer-user", password=PASSWORD) is None
    failures = AuditRecord.objects.filter(action="auth.login", result="denied", actor_id="viewer-user")
    assert failures.filter(error_code="LOGIN_FAILED").count() == 3
    assert failures.filter(error_code="LOGIN_THROTTLED").count() >= 1
    cache.clear()  # the lockout window passes
    assert login(client).status_code == 200
    assert AuditRecord.objects.filter(action="auth.login", result="ok", actor_id="viewer-user").exists()


def test_api_token_is_shown_once_stored_hashed_and_tenant_scoped(client, world):
    created = client.post(
        "/api/v1/tenants/acme/tokens/", {"name": "ci"}, content_type="application/json", **world.auth("viewer")
    ).json()
    plaintext = created["token"]
    stored = ApiToken.objects.get(id=created["id"])
    assert stored.key_hash == digest(plaintext) and plaintext not in str(stored.__dict__)
    listed = client.get("/api/v1/tenants/acme/tokens/", **world.auth("viewer")).json()["results"]
    assert all("token" not in item for item in listed)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    assert client.get("/api/v1/tenants/acme/workspaces/", **bearer).status_code == 200
    # a viewer's token holds only the viewer's points, and only in its own tenant
    denied = client.post(
        "/api/v1/tenants/acme/workspaces/", {"name": "x", "slug": "x"}, content_type="application/json", **bearer
    )
    assert denied.status_code == 403
    record = AuditRecord.objects.order_by("-id").first()
    assert (record.actor_kind, record.actor_id, record.result) == ("token", created["id"], "denied")
    world.users["viewer"].memberships.create(tenant=world.beta, role="viewer", granted_by="t")
    assert client.get("/api/v1/tenants/beta/", **bearer).status_code == 404


@pytest.mark.parametrize("spoil", ["revoke", "expire", "garble", "deactivate_user"])
def test_dead_api_tokens_are_refused(client, world, spoil):
    created = client.post(
        "/api/v1/tenants/acme/tokens/", {"name": "ci"}, content_type="application/json", **world.auth("viewer")
    ).json()
    plaintext = created["token"]
    if spoil == "revoke":
        client.delete(f"/api/v1/tenants/acme/tokens/{created['id']}/", **world.auth("viewer"))
    elif spoil == "expire":
        ApiToken.objects.filter(id=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif spoil == "garble":
        plaintext = plaintext[:-2] + ("AA" if not plaintext.endswith("AA") else "BB")
    else:
        world.users["viewer"].is_active = False
        world.users["viewer"].save()
    response = client.get("/api/v1/tenants/acme/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_FAILED"


def test_token_expiry_must_be_in_the_future(client, world):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client.post(
        "/api/v1/tenants/acme/tokens/",
        {"name": "ci", "expires_at": past},
        content_type="application/json",
        **world.auth("viewer"),
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "TOKEN_EXPIRY_INVALID"
    assert response.json()["error"]["details"]["field"] == "expires_at"
