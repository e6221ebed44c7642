"""LDAP login against a real slapd (tests/iam/slapd.py): the search-then-bind flow, its failure modes, the
throttle, the audit trail, and that a directory user holds no role until one is granted."""

from __future__ import annotations

import logging
import socket
import subprocess
import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from ldap3 import Connection, Server

from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.iam.ldap import DirectoryConfig, LDAPBackend, user_filter
from controlplane.iam.models import Membership
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests.iam.slapd import PEOPLE, PUBLIC, READER_DN, READER_PASSWORD, USERS

pytestmark = pytest.mark.django_db

User = get_user_model()
ALICE_PASSWORD = USERS["alice"][0]
BACKENDS = [
    "controlplane.iam.backends.ThrottledModelBackend",
    "controlplane.iam.ldap.LDAPBackend",
    "guardian.backends.ObjectPermissionBackend",
]


@pytest.fixture
def ldap_on(settings, slapd):
    """The control plane configured for the test slapd with a service account, as settings.py would."""
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.CONTROLPLANE_LDAP_URL = slapd.url
    settings.CONTROLPLANE_LDAP_BIND_DN = READER_DN
    settings.CONTROLPLANE_LDAP_BIND_PASSWORD = READER_PASSWORD
    settings.CONTROLPLANE_LDAP_USER_SEARCH_BASE = PEOPLE
    settings.CONTROLPLANE_LDAP_USER_FILTER = "(uid={username})"
    settings.CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE = "uid"
    settings.CONTROLPLANE_LDAP_START_TLS = False
    settings.CONTROLPLANE_LDAP_CA_FILE = None
    settings.CONTROLPLANE_LDAP_TIMEOUT = 5
    return settings


def request(address: str = "127.0.0.1"):
    return RequestFactory().post("/login/", REMOTE_ADDR=address)


def api_login(username: str, password: str, address: str = "127.0.0.1"):
    return Client(SERVER_NAME="localhost").post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


# --- the filter -------------------------------------------------------------------------------------------


def test_user_filter_escapes_every_rfc4515_special():
    assert user_filter("(uid={username})", "alice") == "(uid=alice)"
    assert user_filter("(uid={username})", "a*)(uid=*") == r"(uid=a\2a\29\28uid=\2a)"
    assert user_filter("(uid={username})", "back\\slash\x00") == r"(uid=back\5cslash\00)"
    assert user_filter("(&(objectClass=person)(|(uid={username})(mail={username})))", "x*") == (
        r"(&(objectClass=person)(|(uid=x\2a)(mail=x\2a)))"
    )


# --- logging in ---------------------------------------------------------------------------------------


def test_correct_password_logs_in_and_creates_a_local_user(ldap_on):
    user = authenticate(request(), username="alice", password=ALICE_PASSWORD)
    assert user is not None and user.backend == "controlplane.iam.ldap.LDAPBackend"
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "alice",
        "alice@example.org",
        "Alice",
        "Liddell",
    )
    assert not user.has_usable_password()  # the directory holds the password, never the control plane
    assert not user.is_staff and not user.is_superuser
    assert not Membership.objects.filter(user=user).exists()
    again = authenticate(request(), username="alice", password=ALICE_PASSWORD)
    assert again.pk == user.pk and User.objects.filter(username="alice").count() == 1


def test_the_local_name_comes_from_the_directory_not_from_what_was_typed(ldap_on):
    user = authenticate(request(), username="ALICE", password=ALICE_PASSWORD)
    assert user is not None and user.username == "alice"


def test_profile_is_refreshed_from_the_directory_on_each_login(ldap_on):
    user = authenticate(request(), username="bob", password=USERS["bob"][0])
    User.objects.filter(pk=user.pk).update(email="stale@example.org", first_name="Robert")
    user = authenticate(request(), username="bob", password=USERS["bob"][0])
    assert (user.email, user.first_name) == ("bob@example.org", "Bob")


def test_api_login_returns_a_jwt_pair_and_grants_nothing_until_a_role_is_granted(ldap_on):
    tenant_id = tenancy.do_create_tenant(metadata=Metadata.for_system(None, reason="tests"), name="Acme", slug="acme")
    response = api_login("alice", ALICE_PASSWORD)
    assert response.status_code == 200, response.content
    pair = response.json()
    assert set(pair) >= {"access", "refresh"}
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    me = client.get("/api/v1/auth/me/").json()
    assert (me["username"], me["platform_admin"], me["token"]) == ("alice", False, None)
    assert me["session"]  # an API login through LDAP is a login session like any other
    tenants = client.get("/api/v1/tenants/")
    assert tenants.status_code == 200 and tenants.json()["results"] == []
    assert client.get("/api/v1/tenants/acme/").status_code == 404

    iam.do_grant_role(
        user=User.objects.get(username="alice"),
        tenant=Tenant.objects.get(id=tenant_id),
        role="viewer",
        metadata=Metadata.for_system(None, reason="t"),
    )
    assert [t["slug"] for t in client.get("/api/v1/tenants/").json()["results"]] == ["acme"]
    assert AuditRecord.objects.filter(action="auth.login", result="ok", actor_id="alice").exists()


# --- refusing -----------------------------------------------------------------------------------------


def test_wrong_password_fails_and_is_audited(ldap_on):
    assert authenticate(request(), username="alice", password="not-her-password") is None
    response = api_login("alice", "also-not-her-password")
    assert response.status_code == 401
    denied = AuditRecord.objects.filter(action="auth.login", result="denied", actor_id="alice")
    assert denied.count() == 2 and set(denied.values_list("error_code", flat=True)) == {"LOGIN_FAILED"}
    assert not User.objects.filter(username="alice").exists()


def test_unknown_user_fails(ldap_on):
    assert authenticate(request(), username="mallory", password="whatever-it-is") is None
    assert api_login("mallory", "whatever-it-is").status_code == 401
    assert not User.objects.filter(username="mallory").exists()


def test_empty_password_is_refused_without_any_bind(ldap_on, slapd, monkeypatch):
    # What the check guards against: this directory accepts an unauthenticated bind for a real DN.
    probe = subprocess.run(
        ["ldapwhoami", "-x", "-H", slapd.url, "-D", f"uid=alice,{PEOPLE}", "-w", ""], capture_output=True, timeout=10
    )
    assert probe.returncode == 0, probe.stderr

    def no_connection(*args, **kwargs):
        raise AssertionError("no LDAP connection may be made for an empty password")

    monkeypatch.setattr(DirectoryConfig, "connect", no_connection)
    assert authenticate(request(), username="alice", password="") is None
    assert LDAPBackend().authenticate(request(), username="alice", password="") is None
    assert LDAPBackend().authenticate(request(), username="alice", password=None) is None
    assert api_login("alice", "").status_code in (400, 401)


@pytest.mark.parametrize(
    ("template", "username"),
    [
        ("(uid={username})", "*"),
        ("(uid={username})", "alic*"),
        ("(&(objectClass=inetOrgPerson)(uid={username}))", "alice)(objectClass=*"),
        ("(&(objectClass=inetOrgPerson)(uid={username}))", "*)(|(uid=alice)"),
        ("(|(uid={username})(mail={username}))", "*)(uid=alice"),
    ],
)
def test_filter_injection_cannot_widen_the_search(ldap_on, slapd, template, username):
    ldap_on.CONTROLPLANE_LDAP_USER_FILTER = template
    # Pasted in unescaped, each of these would have found alice, so her password would have let them in.
    raw = Connection(Server(slapd.url), user=READER_DN, password=READER_PASSWORD, auto_bind=True)
    raw.search(PEOPLE, template.replace("{username}", username), attributes=["uid"])
    assert "alice" in [str(entry.uid) for entry in raw.entries]
    raw.unbind()

    assert authenticate(request(), username=username, password=ALICE_PASSWORD) is None
    assert api_login(username, ALICE_PASSWORD).status_code == 401
    assert not User.objects.exists()


def test_a_local_account_of_the_same_name_is_not_taken_over(ldap_on):
    local = User.objects.create_user("bob", password="the-local-bob-password")
    assert authenticate(request(), username="bob", password=USERS["bob"][0]) is None
    assert authenticate(request(), username="bob", password="the-local-bob-password") == local


def test_an_account_created_without_a_password_is_claimed_by_the_first_login(ldap_on):
    precreated = User.objects.create_user("bob")  # e.g. so that a role could be granted before the first login
    user = authenticate(request(), username="bob", password=USERS["bob"][0])
    assert user == precreated and user.email == "bob@example.org"


def test_an_unlinked_superuser_is_not_claimed(ldap_on):
    User.objects.create_superuser("bob", password=None)
    assert authenticate(request(), username="bob", password=USERS["bob"][0]) is None


def test_a_disabled_user_cannot_log_in(ldap_on):
    user = authenticate(request(), username="bob", password=USERS["bob"][0])
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert authenticate(request(), username="bob", password=USERS["bob"][0]) is None


def test_throttling_refuses_even_the_right_password_from_the_failing_address(ldap_on, monkeypatch):
    from controlplane.iam import throttle

    monkeypatch.setattr(throttle, "now", lambda: 1_000_000.0)  # the clock stands still: the delay never passes
    ldap_on.CONTROLPLANE_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert authenticate(request(), username="alice", password="wrong-password") is None
    assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
    throttled = api_login("alice", ALICE_PASSWORD)
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "LOGIN_THROTTLED"
    with pytest.raises(PermissionDenied):  # the backend checks on its own too, whatever precedes it
        LDAPBackend().authenticate(request(), username="alice", password=ALICE_PASSWORD)
    assert AuditRecord.objects.filter(actor_id="alice", error_code="LOGIN_THROTTLED").exists()


# --- the service account, anonymous search, TLS ------------------------------------------------------


def test_anonymous_search_where_the_directory_allows_it(ldap_on):
    ldap_on.CONTROLPLANE_LDAP_BIND_DN = None
    ldap_on.CONTROLPLANE_LDAP_BIND_PASSWORD = None
    ldap_on.CONTROLPLANE_LDAP_USER_SEARCH_BASE = PUBLIC
    user = authenticate(request(), username="dave", password=USERS["dave"][0])
    assert user is not None and user.username == "dave"


def test_anonymous_search_where_the_directory_forbids_it_fails_with_a_warning(ldap_on, caplog):
    ldap_on.CONTROLPLANE_LDAP_BIND_DN = None
    ldap_on.CONTROLPLANE_LDAP_BIND_PASSWORD = None
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.ldap"):
        assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
    assert "search under ou=people,dc=example,dc=org failed" in caplog.text


def test_a_wrong_service_account_password_fails_with_a_warning(ldap_on, caplog):
    ldap_on.CONTROLPLANE_LDAP_BIND_PASSWORD = "not-the-reader-password"
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.ldap"):
        assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
    assert f"search bind as {READER_DN} was refused" in caplog.text
    assert "not-the-reader-password" not in caplog.text and ALICE_PASSWORD not in caplog.text


def test_start_tls_with_the_directory_ca(ldap_on, slapd):
    ldap_on.CONTROLPLANE_LDAP_START_TLS = True
    ldap_on.CONTROLPLANE_LDAP_CA_FILE = str(slapd.ca_file)
    assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is not None


def test_ldaps_with_the_directory_ca(ldap_on, slapd):
    ldap_on.CONTROLPLANE_LDAP_URL = slapd.ldaps_url
    ldap_on.CONTROLPLANE_LDAP_CA_FILE = str(slapd.ca_file)
    assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is not None


@pytest.mark.parametrize("mode", ["start_tls", "ldaps"])
def test_an_untrusted_certificate_fails_cleanly(ldap_on, slapd, caplog, mode):
    if mode == "ldaps":
        ldap_on.CONTROLPLANE_LDAP_URL = slapd.ldaps_url
    else:
        ldap_on.CONTROLPLANE_LDAP_START_TLS = True
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.ldap"):
        assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
    assert "LDAP login for 'alice' failed" in caplog.text and "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert ALICE_PASSWORD not in caplog.text


def test_a_certificate_for_another_name_fails(ldap_on, slapd, caplog):
    ldap_on.CONTROLPLANE_LDAP_URL = slapd.ldaps_url.replace("127.0.0.1", "localhost")  # the certificate names the IP
    ldap_on.CONTROLPLANE_LDAP_CA_FILE = str(slapd.ca_file)
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.ldap"):
        assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
    assert "doesn't match any name" in caplog.text


# --- an absent or silent server -----------------------------------------------------------------------


def test_an_unreachable_server_fails_cleanly_with_a_warning(ldap_on, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ldap_on.CONTROLPLANE_LDAP_URL = f"ldap://127.0.0.1:{port}"
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.ldap"):
        assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
        assert api_login("alice", ALICE_PASSWORD).status_code == 401
    assert f"server ldap://127.0.0.1:{port} unreachable" in caplog.text
    assert ALICE_PASSWORD not in caplog.text


def test_a_silent_server_times_out(ldap_on, caplog):
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        ldap_on.CONTROLPLANE_LDAP_URL = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        ldap_on.CONTROLPLANE_LDAP_TIMEOUT = 1
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="controlplane.iam.ldap"):
            assert authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
        assert time.monotonic() - started < 5
    assert "not answering" in caplog.text


def test_ldap_is_off_without_a_url(ldap_on):
    ldap_on.CONTROLPLANE_LDAP_URL = None
    assert LDAPBackend().authenticate(request(), username="alice", password=ALICE_PASSWORD) is None
