"""Finding 7: users are created by platform administrators and invited by a tenant's owners through the API;
an invitation token is shown once, stored hashed, expires, works once, and every step is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from controlplane.audit.models import AuditRecord
from controlplane.iam.models import Invitation, Membership
from controlplane.iam.tokens import digest
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db
PASSWORD = "a long and unusual passphrase"
T = "/api/v1/tenants/acme"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def invite(client: Client, world: World, who: str = "owner", **body):  # type: ignore[no-untyped-def]
    body = {"username": "carol", "role": "operator", "workspace": "etl", **body}
    return client.post(f"{T}/invitations/", body, content_type="application/json", **world.auth(who))


def accept(client: Client, token: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/invitations/accept/", {"token": token, "password": password}, content_type="application/json"
    )


def test_an_invitation_is_shown_once_stored_hashed_and_accepted_once(client, world):
    made = invite(client, world)
    assert made.status_code == 201, made.content
    token = made.json()["token"]
    stored = Invitation.objects.get(id=made.json()["id"])
    assert stored.key_hash == digest(token) and token not in str(stored.__dict__)
    listed = client.get(f"{T}/invitations/", **world.auth("viewer")).json()["results"]
    assert all("token" not in item for item in listed)
    assert accept(client, token, "short").json()["error"]["code"] == "PASSWORD_INVALID"  # nothing used up
    accepted = accept(client, token)
    assert accepted.status_code == 201 and accepted.json() == {
        "username": "carol",
        "tenant": "acme",
        "role": "operator",
    }
    membership = Membership.objects.get(user__username="carol")
    assert (membership.tenant_id, membership.workspace_id, membership.role) == (
        world.acme.id,
        world.acme_ws.id,
        "operator",
    )
    again = accept(client, token, PASSWORD + "!")
    assert again.status_code == 400 and again.json()["error"]["code"] == "INVITATION_INVALID"
    login = client.post(
        "/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, content_type="application/json"
    )
    assert login.status_code == 200
    trail = AuditRecord.objects.filter(resource_type="invitation").order_by("id")
    assert [(r.action, r.result) for r in trail] == [
        ("invitation.create", "ok"),
        ("invitation.accept", "failed"),
        ("invitation.accept", "ok"),
        ("invitation.accept", "failed"),
    ]
    assert [r.tenant_id for r in trail if r.result == "ok"] == [world.acme.id, world.acme.id]


@pytest.mark.parametrize("spoil", ["expire", "revoke", "garble", "name_taken"])
def test_a_dead_invitation_creates_nothing(client, world, spoil):
    made = invite(client, world).json()
    token = made["token"]
    if spoil == "expire":
        Invitation.objects.filter(id=made["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif spoil == "revoke":
        assert client.delete(f"{T}/invitations/{made['id']}/", **world.auth("owner")).status_code == 204
    elif spoil == "garble":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    else:
        User.objects.create_user("carol")
    refused = accept(client, token)
    assert refused.status_code in (400, 409)
    assert refused.json()["error"]["code"] == ("USER_EXISTS" if spoil == "name_taken" else "INVITATION_INVALID")
    assert not Membership.objects.filter(user__username="carol").exists()


def test_only_owners_invite_and_an_invitation_cannot_name_an_existing_user(client, world):
    assert invite(client, world, "admin").status_code == 403
    taken = invite(client, world, username="viewer-user")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "USER_EXISTS"
    assert invite(client, world, role="emperor").json()["error"]["code"] == "VALIDATION_FAILED"


def test_a_platform_admin_creates_users_with_no_role(client, world):
    body = {"username": "dave", "email": "dave@example.com", "password": PASSWORD}
    refused = client.post("/api/v1/users/", body, content_type="application/json", **world.auth("owner"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "PERMISSION_DENIED"
    made = client.post("/api/v1/users/", body, content_type="application/json", **world.auth("root"))
    assert made.status_code == 201 and made.json()["platform_admin"] is False
    assert not Membership.objects.filter(user__username="dave").exists()
    weak = client.post(
        "/api/v1/users/", {"username": "erin", "password": "123"}, content_type="application/json", **world.auth("root")
    )
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "PASSWORD_INVALID"
    no_password = client.post(
        "/api/v1/users/", {"username": "frank"}, content_type="application/json", **world.auth("root")
    )
    assert no_password.status_code == 201 and not User.objects.get(username="frank").has_usable_password()
    record = AuditRecord.objects.filter(resource_type="user", result="ok").order_by("id").first()
    assert (record.action, record.resource_id, record.actor_id) == ("user.create", "dave", "root")
