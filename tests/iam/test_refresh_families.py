"""Finding 2: reusing a rotated refresh token revokes its whole login (refresh and access tokens), audited;
a user lists their logins and revokes one or all."""

from __future__ import annotations

import pytest
from django.test import Client

from controlplane.audit.models import AuditRecord
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def world() -> World:
    built = build_world()
    built.users["viewer"].set_password(PASSWORD)
    built.users["viewer"].save()
    return built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def login(client: Client, address: str = "127.0.0.1", agent: str = "") -> dict:
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "viewer-user", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=agent,
    )
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client: Client, token: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token/refresh/", {"refresh": token}, content_type="application/json")


def me(client: Client, access: str) -> int:
    return client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def test_reusing_a_rotated_refresh_token_revokes_every_token_of_that_login(client, world):
    first = login(client)
    other = login(client)  # another login of the same user: not of the same family
    rotated = refresh(client, first["refresh"]).json()
    newest = refresh(client, rotated["refresh"]).json()
    replay = refresh(client, first["refresh"])  # a stolen copy of the first refresh token is used
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "AUTH_TOKEN_INVALID"
    assert refresh(client, newest["refresh"]).status_code == 401  # the newest of the family is dead too
    for access in (first["access"], rotated["access"], newest["access"]):
        assert me(client, access) == 401
    assert me(client, other["access"]) == 200 and refresh(client, other["refresh"]).status_code == 200
    reuse = AuditRecord.objects.get(action="auth.refresh", error_code="AUTH_REFRESH_REUSED")
    assert (reuse.actor_id, reuse.result) == ("viewer-user", "denied")


def test_a_user_lists_their_logins_and_revokes_one_or_all(client, world):
    office = login(client, "198.51.100.7", "curl/8.5")
    laptop = login(client, "203.0.113.9", "Firefox/140")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {office['access']}"}
    listed = client.get("/api/v1/auth/sessions/", **auth).json()["results"]
    assert {(s["client_address"], s["user_agent"], s["current"]) for s in listed} == {
        ("198.51.100.7", "curl/8.5", True),
        ("203.0.113.9", "Firefox/140", False),
    }
    assert all(s["created_at"] and s["last_used_at"] for s in listed)
    laptop_id = next(s["id"] for s in listed if not s["current"])
    # another user cannot see or end it
    other = client.delete(f"/api/v1/auth/sessions/{laptop_id}/", **world.auth("owner"))
    assert other.status_code == 404
    assert client.delete(f"/api/v1/auth/sessions/{laptop_id}/", **auth).status_code == 204
    assert refresh(client, laptop["refresh"]).status_code == 401 and me(client, laptop["access"]) == 401
    assert me(client, office["access"]) == 200
    assert AuditRecord.objects.filter(action="session.destroy", resource_id=laptop_id, result="ok").exists()
    # an API token cannot manage logins: it is bound to its tenant
    created = client.post("/api/v1/tenants/acme/tokens/", {"name": "ci"}, content_type="application/json", **auth)
    token_auth = {"HTTP_AUTHORIZATION": f"Bearer {created.json()['token']}"}
    assert client.get("/api/v1/auth/sessions/", **token_auth).status_code == 403
    assert (
        client.post("/api/v1/auth/sessions/revoke-all/", {}, content_type="application/json", **auth).status_code == 204
    )
    assert me(client, office["access"]) == 401 and refresh(client, office["refresh"]).status_code == 401
