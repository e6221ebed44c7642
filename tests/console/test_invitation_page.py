"""The invitee's page (pages/invitation.py): the owner's answer to an invite holds the link with the token in its
fragment; the page is open without a login and CSRF-protected; setting a password through it creates the user
(the API's writer) who then signs in and sees the tenant with the invited role; a refusal comes back at its
field with the token kept only in its field and no password sent back; each press is audited as the API's
accept; the page tells nothing about a token but the writer's one error; and it is in Chinese."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from controlplane.audit.models import AuditRecord
from controlplane.iam.models import Invitation, Membership
from tests.api.world import world_for_module
from tests.console.test_pages import client_of
from tests.console.test_translations import untranslated

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase"
PAGE = "/admin/console/invitation/"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def invite(world, username: str, workspace: bool = True) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The owner invites ``username`` as an operator in the console; (the token, the link) of the answer."""
    data = {"username": username, "role": "operator", "workspace": world.acme_ws.id if workspace else ""}
    answer = client_of(world.users["owner"]).post(reverse("admin:console-invite"), data).content.decode()
    token = answer.split('id="shown-once">', 1)[1].split("<", 1)[0]
    link = answer.split('id="invitation-link">', 1)[1].split("<", 1)[0]
    return token, link


def anonymous(language: str = "en") -> Client:
    client = Client(SERVER_NAME="localhost")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def accept(client: Client, token: str, password: str = PASSWORD, again: str | None = None):  # type: ignore[no-untyped-def]
    data = {"token": token, "password": password, "password_again": password if again is None else again}
    return client.post(PAGE, data)


def errors_of(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {field: list(texts) for field, texts in response.context["form"].errors.items()}


def last_accept() -> AuditRecord:
    return AuditRecord.objects.filter(action="console.accept").latest("id")


def test_the_owners_answer_holds_the_link_with_the_token_in_its_fragment(world):
    token, link = invite(world, "linked")
    assert reverse("admin:console-invitation") == PAGE
    assert link == f"http://localhost{PAGE}#{token}"  # the request's host; the token after "#", never a query


def test_the_page_is_open_without_a_login_and_its_form_is_csrf_protected(world):
    page = anonymous().get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert re.search(r'<input type="password" name="token"[^>]*data-invitation-token', html)
    assert 'type="password" name="password"' in html and 'type="password" name="password_again"' in html
    assert 'id="login-form"' not in html and 'id="invitation-form"' in html  # the login page's layout, own form
    token, _link = invite(world, "forged")
    forged = Client(SERVER_NAME="localhost", enforce_csrf_checks=True)
    refused = forged.post(PAGE, {"token": token, "password": PASSWORD, "password_again": PASSWORD})
    assert refused.status_code == 403 and not User.objects.filter(username="forged").exists()


def test_the_invitee_sets_a_password_signs_in_and_sees_the_tenant_with_the_invited_role(world):
    token, _link = invite(world, "carol")
    client = anonymous()
    done = accept(client, token)
    assert done.status_code == 302 and done["Location"] == reverse("admin:login")
    login_page = client.get(done["Location"]).content.decode()
    assert "Sign in with the user name carol" in login_page
    assert "you are Operator in the workspace ETL of the tenant Acme" in login_page
    signed_in = client.post(reverse("admin:login"), {"username": "carol", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == settings.LOGIN_REDIRECT_URL
    dashboard = client.get(signed_in["Location"]).content.decode()
    assert re.search(rf'<option value="{world.acme.id}" translate="no" selected>Acme</option>', dashboard)
    roles = client.get(reverse("admin:console-tokens")).content.decode()
    assert re.search(r'<span class="console-badge">Operator</span> <span translate="no">ETL</span>', roles)
    membership = Membership.objects.get(user__username="carol")
    assert (membership.tenant_id, membership.workspace_id, membership.role) == (
        world.acme.id,
        world.acme_ws.id,
        "operator",
    )
    record = last_accept()
    invitation = Invitation.objects.get(username="carol")
    assert (record.result, record.resource_type, record.resource_id, record.tenant_id) == (
        "ok",
        "invitation",
        invitation.id,
        world.acme.id,
    )
    assert (record.actor_kind, record.actor_id, record.error_code) == ("anonymous", "", "")


def test_a_tenant_wide_invitation_names_the_tenant_only(world):
    token, _link = invite(world, "dave", workspace=False)
    client = anonymous()
    login_page = client.get(accept(client, token)["Location"]).content.decode()
    assert "you are Operator in the tenant Acme." in login_page


def test_passwords_that_differ_are_refused_at_the_second_before_the_writer(world):
    token, _link = invite(world, "erin")
    refused = accept(anonymous(), token, PASSWORD, PASSWORD + "!")
    html = refused.content.decode()
    assert refused.status_code == 400
    assert errors_of(refused) == {"password_again": ["The two passwords differ: type the same password twice."]}
    assert html.count(token) == 1 and f'name="token" value="{token}"' in html  # kept in its field only
    assert PASSWORD not in html
    assert Invitation.objects.get(username="erin").accepted_at is None
    record = last_accept()
    assert (record.result, record.error_code, record.tenant_id, record.actor_kind) == (
        "failed",
        "VALIDATION_FAILED",
        "",
        "anonymous",
    )
    assert accept(anonymous(), token).status_code == 302  # nothing was used up


def test_a_weak_password_is_refused_at_its_field_and_leaves_the_invitation_unused(world):
    token, _link = invite(world, "frank")
    refused = accept(anonymous(), token, "short")
    html = refused.content.decode()
    assert refused.status_code == 400
    reasons = errors_of(refused)
    assert list(reasons) == ["password"] and reasons["password"][0] == "This password is too weak:"
    assert "This password is too short. It must contain at least 12 characters." in reasons["password"]
    assert 'value="short"' not in html and html.count(token) == 1
    assert (last_accept().result, last_accept().error_code) == ("failed", "PASSWORD_INVALID")
    assert not User.objects.filter(username="frank").exists()
    assert accept(anonymous(), token).status_code == 302


def test_a_used_or_unknown_token_gets_one_answer_and_creates_nothing(world):
    token, _link = invite(world, "gina")
    assert accept(anonymous(), token).status_code == 302
    garbled = token[:-2] + ("AA" if not token.endswith("AA") else "BB")  # a prefix that exists, a wrong secret
    answers = {}
    for name, tried in (("used", token), ("garbled", garbled), ("unknown", "stci_000000000000_nothing")):
        refused = accept(anonymous(), tried, PASSWORD + "?")
        assert refused.status_code == 400, name
        answers[name] = errors_of(refused)
        html = refused.content.decode()
        assert html.count(tried) == 1 and PASSWORD not in html
        record = last_accept()
        assert (record.result, record.error_code, record.tenant_id, record.resource_id) == (
            "failed",
            "INVITATION_INVALID",
            "",
            "",
        )
    assert (
        answers["used"]
        == answers["garbled"]
        == answers["unknown"]
        == {"token": ["This invitation is unknown, used, revoked or expired. Ask for a new one."]}
    )
    assert User.objects.get(username="gina").check_password(PASSWORD)  # the first password stays


def test_a_signed_in_visitor_accepts_as_no_one_and_no_secret_is_kept(world):
    token, _link = invite(world, "hugo")
    owner = client_of(world.users["owner"])
    refused = accept(owner, token, PASSWORD, "another long passphrase")
    assert refused.status_code == 400 and "another long passphrase" not in refused.content.decode()
    assert accept(owner, token).status_code == 302
    assert (last_accept().actor_kind, last_accept().actor_id) == ("anonymous", "")
    session = str(dict(owner.session.items()))
    records = str(list(AuditRecord.objects.values_list("details", "resource_id")))
    assert all(secret not in text for secret in (token, PASSWORD) for text in (session, records))


def test_the_page_and_its_refusals_are_in_chinese(world):
    token, _link = invite(world, "ivan")
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client = anonymous(language)
        for response in (
            client.get(PAGE),
            accept(client, token, PASSWORD, "differs"),
            accept(client, token, "short"),
            accept(client, "stci_000000000000_nothing"),
        ):
            html = response.content.decode()
            found = untranslated(html)
            if expect_english:
                assert found
            else:
                assert found == [], found
                assert untranslated(html, root="body") == [], "the frame around the form"
    client = anonymous("zh-hans")
    login_page = client.get(accept(client, token)["Location"]).content.decode()
    # the login page the invitee lands on, frame and all, in Chinese: only the message is flagged, for its names
    assert untranslated(login_page, root="body") == [
        "您的账号已就绪。请用用户名 ivan 和新密码登录：您是租户 Acme 的工作空间 ETL 中的操作员。"  # noqa: RUF001
    ]
