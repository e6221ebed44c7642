"""The console's settings pages (pages/settings.py, members.py, tokens.py, secrets.py): each button calls the API's
writer, what is shown once (an invitation's token, a new API token, a revealed value) is in that answer only,
secret values never reach a page otherwise, a role without the point has no button and a forged POST is refused
(403, audited), another tenant's object is 404, and every page is in Chinese."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from guardian.models import UserObjectPermission

from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.iam.models import ApiToken, Invitation, Membership
from controlplane.secrets.domain.aggregate import MAX_VALUE_BYTES
from controlplane.secrets.models import Secret
from controlplane.tenancy.models import Tenant, Workspace
from tests.api.world import world_for_module
from tests.console.test_pages import client_of, lit
from tests.console.test_translations import untranslated

pytestmark = pytest.mark.django_db

SECRET_VALUE = "s3cr3t-value"  # the world's secrets' value


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def last_record(action: str) -> AuditRecord:
    return AuditRecord.objects.filter(action=action).latest("id")


def test_an_invitation_is_made_by_the_owner_and_its_token_is_shown_once(world):
    client = client_of(world.users["owner"])
    answer = client.post(
        reverse("admin:console-invite"),
        {"username": "newcomer", "email": "new@example.com", "role": "operator", "workspace": world.acme_ws.id},
    )
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    invitation = Invitation.objects.get(username="newcomer")
    assert (invitation.tenant_id, invitation.workspace_id, invitation.role) == (
        world.acme.id,
        world.acme_ws.id,
        "operator",
    )
    page = answer.content.decode()
    token = page.split('id="shown-once">', 1)[1].split("<", 1)[0]
    assert token.startswith(f"stci_{invitation.prefix}_")
    members = client.get(reverse("admin:console-members")).content.decode()
    assert f'data-invitation="{invitation.id}"' in members and token not in members
    assert last_record("console.invite").result == "ok"
    assert all(token not in str(value) for value in client.session.values())
    # the token is the real one: the invitee's account is made with it
    _, user = iam.do_accept_invitation(token=token, password="a long password 123")
    assert Membership.objects.get(user=user).role == "operator"


def test_a_refused_invitation_keeps_the_input_and_shows_why(world):
    answer = client_of(world.users["owner"]).post(
        reverse("admin:console-invite"), {"username": "viewer-user", "email": "kept@example.com", "role": "viewer"}
    )
    page = answer.content.decode()
    assert answer.status_code == 400 and 'data-error="USER_EXISTS"' in page
    assert 'value="kept@example.com"' in page and 'value="viewer-user"' in page
    assert last_record("console.invite").error_code == "USER_EXISTS"


def test_the_owner_grants_and_revokes_a_role_and_revokes_an_invitation(world):
    User.objects.create_user("helper")
    client = client_of(world.users["owner"])
    assert (
        f'data-grant="{world.objects["acme_object_grant"]}"'
        in client.get(reverse("admin:console-members")).content.decode()
    )
    granted = client.post(
        reverse("admin:console-member-grant"), {"username": "helper", "role": "admin", "workspace": ""}
    )
    assert granted.status_code == 302
    membership = Membership.objects.get(user__username="helper", tenant=world.acme)
    assert (membership.role, membership.scope, membership.granted_by) == ("admin", "", "owner-user")
    assert 'data-member="helper"' in client.get(reverse("admin:console-members")).content.decode()
    client.post(reverse("admin:console-member-revoke", args=[membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    unknown = client.post(reverse("admin:console-member-grant"), {"username": "nobody-here", "role": "admin"})
    assert unknown.status_code == 400 and 'value="nobody-here"' in unknown.content.decode()
    invitation = world.objects["acme_invitation"]
    client.post(reverse("admin:console-invitation-revoke", args=[invitation]))
    assert Invitation.objects.get(id=invitation).revoked_at is not None
    job = world.objects["acme_scheduled_job"]
    given = client.post(
        reverse("admin:console-object-grant"), {"username": "helper", "role": "viewer", "object": f"job:{job}"}
    )
    assert given.status_code == 302
    held = UserObjectPermission.objects.get(user__username="helper", object_pk=job)
    assert held.permission.codename.endswith("viewer")
    listed = client.get(reverse("admin:console-members")).content.decode()
    assert f'data-grant="{held.pk}"' in listed and ">nightly</a>" in listed  # by name, a link to the job
    beta_job = world.objects["beta_job"]
    foreign = client.post(
        reverse("admin:console-object-grant"), {"username": "helper", "role": "viewer", "object": f"job:{beta_job}"}
    )
    assert foreign.status_code == 400 and 'data-error="OBJECT_NOT_FOUND"' in foreign.content.decode()
    grant = world.objects["acme_object_grant"]
    revoked = client.post(reverse("admin:console-object-grant-revoke", args=[grant]))
    assert revoked.status_code == 302, revoked.content.decode()[-3000:]
    assert not UserObjectPermission.objects.filter(pk=grant).exists()
    assert f'data-grant="{grant}"' not in client.get(reverse("admin:console-members")).content.decode()


def test_the_last_owner_cannot_step_down_and_is_told_why(world):
    client = client_of(world.users["owner"])
    owner = Membership.objects.get(user=world.users["owner"], tenant=world.acme)
    answer = client.post(reverse("admin:console-member-revoke", args=[owner.pk]), follow=True)
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert "TENANT_LAST_OWNER" in answer.content.decode()


def test_a_new_api_token_is_shown_once_works_and_is_not_on_the_list(world):
    client = client_of(world.users["viewer"])  # any member makes their own tokens
    answer = client.post(reverse("admin:console-token-create"), {"name": "ci", "expires_in_days": "30"})
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    token = ApiToken.objects.get(user=world.users["viewer"], name="ci")
    plaintext = answer.content.decode().split('id="shown-once">', 1)[1].split("<", 1)[0]
    assert plaintext.startswith(f"stcp_{token.prefix}_") and token.expires_at is not None
    listed = client.get(reverse("admin:console-tokens")).content.decode()
    assert f'data-token="{token.id}"' in listed and token.prefix in listed and plaintext not in listed
    assert f'data-token="{world.objects["token_owner"]}"' not in listed  # only one's own
    api = Client(SERVER_NAME="localhost").get("/api/v1/tenants/acme/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.status_code == 200
    client.post(reverse("admin:console-token-revoke", args=[token.id]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = client.post(reverse("admin:console-token-create"), {"name": "", "expires_in_days": "7"})
    assert refused.status_code == 400 and 'data-error="TOKEN_NAME_INVALID"' in refused.content.decode()


def test_anothers_token_is_not_found(world):
    owners = world.objects["token_owner"]
    assert (
        client_of(world.users["viewer"]).post(reverse("admin:console-token-revoke", args=[owners])).status_code == 404
    )
    assert ApiToken.objects.get(id=owners).revoked_at is None
    assert (last_record("console.revoke").result, last_record("console.revoke").error_code) == ("denied", "NOT_FOUND")


def test_a_secret_value_is_never_on_a_page_but_the_audited_reveal(world):
    secret = world.objects["acme_secret"]
    client = client_of(world.users["admin"])
    for url in (
        reverse("admin:console-secrets"),
        reverse("admin:console-secret", args=[secret]),
        reverse("admin:console-secret-reveal", args=[secret]),
    ):
        page = client.get(url).content.decode()
        assert SECRET_VALUE not in page and "db-password" in page, url
    confirm = client.get(reverse("admin:console-secret-reveal", args=[secret])).content.decode()
    assert 'data-action="reveal"' in confirm
    events = Event.objects.filter(stream_id=f"secret-{secret}", event_type="secrets.secret_revealed")
    before = events.count()
    revealed = client.post(reverse("admin:console-secret-revealed", args=[secret]))
    assert revealed.status_code == 200 and "no-store" in revealed["Cache-Control"]
    assert f'id="shown-once">{SECRET_VALUE}<' in revealed.content.decode()
    assert events.count() == before + 1
    record = last_record("console.reveal")
    assert (record.result, record.resource_id, record.actor_id) == ("ok", secret, "admin-user")
    assert all(SECRET_VALUE not in str(value) for value in client.session.values())
    assert SECRET_VALUE not in client.get(reverse("admin:console-secret", args=[secret])).content.decode()


def test_secrets_are_created_updated_and_deleted_and_a_refused_value_is_not_echoed(world):
    client = client_of(world.users["admin"])
    place = {"workspace": world.acme_ws.id, "description": "the warehouse"}
    taken = client.post(reverse("admin:console-secret-create"), {**place, "name": "db-password", "value": "typed-1"})
    page = taken.content.decode()
    assert taken.status_code == 400 and 'data-error="SECRET_EXISTS"' in page
    assert 'value="db-password"' in page and 'value="the warehouse"' in page and "typed-1" not in page
    assert "not sent back to the browser" in page
    made = client.post(reverse("admin:console-secret-create"), {**place, "name": "warehouse", "value": "typed-2"})
    secret = Secret.unscoped.get(id=made["Location"].rstrip("/").rsplit("/", 1)[1])
    assert (secret.name, secret.current_version, secret.workspace_id) == ("warehouse", 1, world.acme_ws.id)
    too_long = "typed-long-" + "x" * MAX_VALUE_BYTES
    refused = client.post(reverse("admin:console-secret-update", args=[secret.id]), {"value": too_long})
    assert refused.status_code == 400 and "typed-long-" not in refused.content.decode()
    assert 'data-error="SECRET_INPUT_INVALID"' in refused.content.decode()
    client.post(reverse("admin:console-secret-update", args=[secret.id]), {"value": "typed-3"})
    secret.refresh_from_db()
    assert secret.current_version == 2
    client.post(reverse("admin:console-secret-delete", args=[secret.id]))
    secret.refresh_from_db()
    assert secret.deleted
    assert client.get(reverse("admin:console-secret", args=[secret.id])).status_code == 404


def test_a_viewer_has_no_buttons_and_forged_posts_are_refused_and_audited(world):
    client = client_of(world.users["viewer"])
    secret = world.objects["acme_secret"]
    pages = {
        "admin:console-settings": (),
        "admin:console-workspaces": (),
        "admin:console-members": (),
        "admin:console-secrets": (),
        "admin:console-secret": (secret,),
    }
    for name, args in pages.items():
        page = client.get(reverse(name, args=args)).content.decode()
        assert "data-form=" not in page and 'data-action="' not in page.split('class="console-subnav"')[1], name
    viewer_membership = Membership.objects.get(user=world.users["viewer"], tenant=world.acme).pk
    forged = [
        ("admin:console-tenant-rename", [world.acme.id], {"name": "Hacked"}),
        ("admin:console-tenant-disable", [world.acme.id], {}),
        ("admin:console-workspace-create", [], {"name": "X", "slug": "x"}),
        ("admin:console-member-grant", [], {"username": "viewer-user", "role": "owner"}),
        ("admin:console-member-revoke", [viewer_membership], {}),
        ("admin:console-invite", [], {"username": "sneaky", "role": "owner"}),
        ("admin:console-secret-create", [], {"workspace": world.acme_ws.id, "name": "x", "value": "y"}),
        ("admin:console-secret-revealed", [secret], {}),
        ("admin:console-secret-delete", [secret], {}),
        ("admin:console-tenant-create", [], {"name": "Mine", "slug": "mine"}),
    ]
    for name, args, data in forged:
        answer = client.post(reverse(name, args=args), data)
        assert answer.status_code == 403, (name, answer.status_code)
        assert SECRET_VALUE not in answer.content.decode()
        assert AuditRecord.objects.filter(
            result="denied", error_code="PERMISSION_DENIED", actor_id="viewer-user"
        ).exists()
    assert Tenant.objects.get(id=world.acme.id).name == "Acme" and not Tenant.objects.get(id=world.acme.id).disabled
    assert not Workspace.objects.filter(slug="x").exists() and not Invitation.objects.filter(username="sneaky").exists()
    assert Membership.objects.get(user=world.users["viewer"], tenant=world.acme).role == "viewer"
    assert not Secret.unscoped.filter(name="x").exists() and not Tenant.objects.filter(slug="mine").exists()
    denied = AuditRecord.objects.filter(actor_id="viewer-user", result="denied").values_list("action", flat=True)
    assert {"console.rename", "console.reveal", "console.grant", "console.invite"} <= set(denied)
    operator = client_of(world.users["operator"]).get(reverse("admin:console-secret-reveal", args=[secret]))
    assert operator.status_code == 403 and 'data-action="reveal"' not in operator.content.decode()


def test_another_tenants_objects_are_not_found(world):
    client = client_of(world.users["outsider"])  # owner of beta
    acme_member = world.objects["acme_member"]
    assert client.get(reverse("admin:console-secret", args=[world.objects["acme_secret"]])).status_code == 404
    assert client.post(reverse("admin:console-secret-revealed", args=[world.objects["acme_secret"]])).status_code == 404
    assert client.post(reverse("admin:console-member-revoke", args=[acme_member])).status_code == 404
    assert (
        client.post(reverse("admin:console-invitation-revoke", args=[world.objects["acme_invitation"]])).status_code
        == 404
    )
    assert client.post(reverse("admin:console-tenant-rename", args=[world.acme.id]), {"name": "x"}).status_code == 404
    assert client.post(reverse("admin:console-token-revoke", args=[world.objects["token_owner"]])).status_code == 404
    assert Membership.objects.filter(pk=acme_member).exists()
    assert Invitation.objects.get(id=world.objects["acme_invitation"]).revoked_at is None
    record = last_record("console.reveal")
    assert (record.result, record.error_code, record.tenant_id) == ("denied", "NOT_FOUND", world.beta.id)
    members = client.get(reverse("admin:console-members")).content.decode()
    assert "viewer-user" not in members and "outsider" in members


def test_the_owner_renames_the_tenant_and_sets_quotas_and_a_bad_quota_keeps_the_input(world):
    client = client_of(world.users["owner"])
    tenant = Tenant.objects.get(id=world.acme.id)
    client.post(
        reverse("admin:console-tenant-rename", args=[tenant.id]), {"name": "Acme Corp", "version": tenant.version}
    )
    tenant.refresh_from_db()
    assert tenant.name == "Acme Corp"
    stale = client.post(reverse("admin:console-tenant-rename", args=[tenant.id]), {"name": "Old form", "version": 1})
    assert stale.status_code == 400 and 'value="Old form"' in stale.content.decode()
    bad = client.post(
        reverse("admin:console-tenant-quotas", args=[tenant.id]),
        {"clusters": "many", "jobs": "5", "concurrent_runs": "", "version": tenant.version},
    )
    assert (
        bad.status_code == 400
        and 'value="many"' in bad.content.decode()
        and 'data-error="VALIDATION_FAILED"' in bad.content.decode()
    )
    client.post(
        reverse("admin:console-tenant-quotas", args=[tenant.id]),
        {"clusters": "3", "jobs": "5", "concurrent_runs": "", "version": tenant.version},
    )
    tenant.refresh_from_db()
    assert (tenant.quota_clusters, tenant.quota_jobs, tenant.quota_concurrent_runs) == (3, 5, None)
    made = client.post(reverse("admin:console-workspace-create"), {"name": "Reports", "slug": "reports"})
    assert made.status_code == 302 and Workspace.objects.filter(tenant=tenant, slug="reports").exists()


def test_a_platform_administrator_lists_creates_disables_and_enables_tenants(world):
    client = client_of(world.users["root"])
    page = client.get(reverse("admin:console-settings")).content.decode()
    assert 'data-form="tenant"' in page and world.beta.slug in page
    assert (
        'data-form="tenant"'
        not in client_of(world.users["owner"]).get(reverse("admin:console-settings")).content.decode()
    )
    made = client.post(reverse("admin:console-tenant-create"), {"name": "Gamma", "slug": "gamma"})
    assert made.status_code == 302 and Tenant.objects.filter(slug="gamma").exists()
    record = last_record("console.create")
    assert (record.result, record.tenant_id, record.resource_type) == ("ok", "", "tenant")  # the platform's trail
    taken = client.post(reverse("admin:console-tenant-create"), {"name": "Again", "slug": "gamma"})
    assert taken.status_code == 400 and 'data-error="TENANT_SLUG_TAKEN"' in taken.content.decode()
    acme = world.acme.id
    client.post(reverse("admin:console-tenant-disable", args=[acme]), {"reason": "unpaid"})
    assert Tenant.objects.get(id=acme).disabled
    assert client_of(world.users["viewer"]).get(reverse("admin:console-settings")).status_code == 403
    assert 'data-action="enable"' in client.get(reverse("admin:console-settings")).content.decode()
    client.post(reverse("admin:console-tenant-enable", args=[acme]))
    assert not Tenant.objects.get(id=acme).disabled


def test_every_settings_page_in_chinese_has_no_english_of_its_own(world):
    secret = world.objects["acme_secret"]
    # (who, URL, POST data or None for a GET, status): the pages, what is shown once, refused forms with their input
    pages = [
        ("owner", reverse("admin:console-settings"), None, 200),
        ("root", reverse("admin:console-settings"), None, 200),
        ("owner", reverse("admin:console-workspaces"), None, 200),
        ("owner", reverse("admin:console-members"), None, 200),
        ("owner", reverse("admin:console-tokens"), None, 200),
        ("owner", reverse("admin:console-secrets"), None, 200),
        ("owner", reverse("admin:console-secret", args=[secret]), None, 200),
        ("owner", reverse("admin:console-secret-reveal", args=[secret]), None, 200),
        ("operator", reverse("admin:console-secret-reveal", args=[secret]), None, 403),
        ("owner", reverse("admin:console-invite"), {"username": "{language}-newcomer", "role": "viewer"}, 200),
        ("owner", reverse("admin:console-invite"), {"username": "viewer-user", "role": "viewer"}, 400),
        ("owner", reverse("admin:console-token-create"), {"name": "{language} token", "expires_in_days": "7"}, 200),
        ("owner", reverse("admin:console-secret-revealed", args=[secret]), {}, 200),
        (
            "owner",
            reverse("admin:console-secret-create"),
            {"workspace": world.acme_ws.id, "name": "db-password", "value": "v"},
            400,
        ),
        ("owner", reverse("admin:console-secret-update", args=[secret]), {"value": ""}, 400),
        ("owner", reverse("admin:console-tenant-quotas", args=[world.acme.id]), {"jobs": "x"}, 400),
        ("viewer", reverse("admin:console-secret-revealed", args=[secret]), {}, 403),
    ]
    for language, expect_english in (("en", True), ("zh-hans", False)):
        for who, url, data, status in pages:
            client = client_of(world.users[who])
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            if data is None:
                response = client.get(url)
            else:
                response = client.post(url, {key: value.format(language=language) for key, value in data.items()})
            assert response.status_code == status, (who, url, response.status_code)
            found = untranslated(response.content.decode())
            if expect_english:  # the check sees the page's own words: in English they are there
                assert found, url
            else:
                assert found == [], (who, url, found)


def test_the_sidebars_tenant_entry_is_lit_on_its_own_page_only(world):
    client, tenant = client_of(world.users["owner"]), reverse("admin:console-settings")
    assert lit(client, tenant, tenant) and not lit(client, tenant, reverse("admin:console-members"))


def test_a_workspace_admin_manages_its_secrets_but_not_the_tenant(world):
    user = User.objects.create_user("etl-admin")
    iam.do_grant_role(
        metadata=Metadata.for_system(None, reason="test"),
        user=user,
        tenant=world.acme,
        workspace=world.acme_ws,
        role="admin",
    )
    client = client_of(user)
    secrets = client.get(reverse("admin:console-secrets")).content.decode()
    assert 'data-form="secret"' in secrets and f'data-secret="{world.objects["acme_secret"]}"' in secrets
    for name in ("admin:console-settings", "admin:console-workspaces"):
        assert "data-form=" not in client.get(reverse(name)).content.decode(), name
    assert 'data-form="token"' in client.get(reverse("admin:console-tokens")).content.decode()  # any member's
    assert client.get(reverse("admin:console-members")).status_code == 403  # member.read is asked of the tenant
    made = client.post(
        reverse("admin:console-secret-create"), {"workspace": world.acme_ws.id, "name": "etl-only", "value": "v"}
    )
    assert made.status_code == 302 and Secret.unscoped.filter(name="etl-only", workspace_id=world.acme_ws.id).exists()
    refused = client.post(reverse("admin:console-workspace-create"), {"name": "Mine", "slug": "mine"})
    assert refused.status_code == 403 and not Workspace.objects.filter(slug="mine").exists()
