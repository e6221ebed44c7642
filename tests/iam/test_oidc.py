"""OpenID Connect against a fake provider (tests/iam/fake_idp.py): ID token checks, key caching and rotation,
mapping to a local user, and the console's authorization-code flow."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth import authenticate, get_user_model
from django.test import Client, RequestFactory

from controlplane.audit.models import AuditRecord
from controlplane.iam import oidc
from controlplane.iam.models import Membership
from controlplane.iam.oidc import OIDCBackend, ProviderConfig, verify_id_token
from tests.iam.fake_idp import CLIENT_ID, CLIENT_SECRET
from tests.iam.slapd import free_port

pytestmark = pytest.mark.django_db

User = get_user_model()
BACKENDS = [
    "controlplane.iam.backends.ThrottledModelBackend",
    "controlplane.iam.oidc.OIDCBackend",
    "guardian.backends.ObjectPermissionBackend",
]


@pytest.fixture
def oidc_on(settings, idp):
    """The control plane configured for the fake provider, as settings.py would; a fresh cache and provider."""
    oidc.clear_cache()
    idp.down, idp.issuer_claimed, idp.hits, idp.codes = False, None, {}, {}
    idp.published = ["rsa-1", "ec-1"]
    idp.client_secret, idp.auth_methods = CLIENT_SECRET, ["client_secret_basic"]
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.CONTROLPLANE_OIDC_ISSUER = idp.issuer
    settings.CONTROLPLANE_OIDC_CLIENT_ID = CLIENT_ID
    settings.CONTROLPLANE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.CONTROLPLANE_OIDC_USERNAME_CLAIM = "preferred_username"
    settings.ROOT_URLCONF = "tests.iam.urls"
    yield settings
    oidc.clear_cache()


def request():
    return RequestFactory().get("/", REMOTE_ADDR="127.0.0.1")


def login(token: str, **kwargs):
    return authenticate(request(), id_token=token, **kwargs)


# --- valid tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_a_valid_token_logs_in_and_creates_a_user_without_roles(oidc_on, idp, kid):
    user = login(idp.sign(idp.claims("erin"), kid=kid))
    assert user is not None and user.backend == "controlplane.iam.oidc.OIDCBackend"
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "erin",
        "erin@example.org",
        "Erin",
        "Example",
    )
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    assert not Membership.objects.filter(user=user).exists()
    assert login(idp.sign(idp.claims("erin"), kid=kid)).pk == user.pk
    assert AuditRecord.objects.filter(action="auth.login", result="denied").count() == 0


def test_the_username_claim_is_configurable(oidc_on, idp):
    oidc_on.CONTROLPLANE_OIDC_USERNAME_CLAIM = "email"
    assert login(idp.sign(idp.claims("erin"))).username == "erin@example.org"


def test_small_clock_skew_is_tolerated(oidc_on, idp):
    now = int(time.time())
    assert login(idp.sign(idp.claims(iat=now + 30, exp=now - 30))) is not None


def test_discovery_and_keys_are_cached(oidc_on, idp):
    for _ in range(3):
        assert login(idp.sign(idp.claims())) is not None
    assert idp.hits == {"/.well-known/openid-configuration": 1, "/jwks": 1}


def test_a_rotated_key_is_fetched_once(oidc_on, idp):
    assert login(idp.sign(idp.claims())) is not None
    idp.add_key("rsa-2", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert login(idp.sign(idp.claims(), kid="rsa-2")) is not None
    assert idp.hits["/jwks"] == 2


# --- invalid tokens -----------------------------------------------------------------------------------


def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


INVALID = {
    "wrong audience": lambda idp: idp.sign(idp.claims(aud="some-other-client")),
    "expired": lambda idp: idp.sign(idp.claims(iat=int(time.time()) - 900, exp=int(time.time()) - 300)),
    "issued in the future": lambda idp: idp.sign(idp.claims(iat=int(time.time()) + 600)),
    "wrong issuer": lambda idp: idp.sign(idp.claims(iss="https://evil.example.com")),
    "bad signature": lambda idp: idp.sign(idp.claims(), kid="rsa-1", signing_key=other_rsa_key()),
    "unknown kid": lambda idp: idp.sign(idp.claims(), kid="rsa-9", signing_key=other_rsa_key()),
    "no expiry": lambda idp: idp.sign(idp.claims(exp=None)),
    "no subject": lambda idp: idp.sign(idp.claims(sub=None)),
    "EC key for RS256": lambda idp: idp.sign(idp.claims(), kid="ec-1", signing_key=other_rsa_key()),
    "alg none": lambda idp: jwt.encode(idp.claims(), None, algorithm="none", headers={"kid": "rsa-1"}),
    "HS256 with the public key as secret": lambda idp: jwt.encode(
        idp.claims(),
        idp.keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)[:64],
        algorithm="HS256",
        headers={"kid": "rsa-1"},
    ),
    "another client's azp": lambda idp: idp.sign(idp.claims(aud=[CLIENT_ID, "other"], azp="other")),
    "not a JWT": lambda idp: "not.a.jwt",
}


# What the warning says for each: the operator reading the log learns which check refused the token.
REASONS = {
    "wrong audience": f"not for client {CLIENT_ID!r}",
    "expired": "has expired",
    "issued in the future": "issued in the future",
    "wrong issuer": "not from issuer",
    "bad signature": "signature does not verify",
    "unknown kid": "no RSA signing key with id 'rsa-9'",
    "no expiry": "has no exp claim",
    "no subject": "has no sub claim",
    "EC key for RS256": "no RSA signing key with id 'ec-1'",
    "alg none": "algorithm 'none' is not accepted",
    "HS256 with the public key as secret": "algorithm 'HS256' is not accepted",
    "another client's azp": "authorized party",
    "not a JWT": "not a JWT",
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_token_is_refused_and_audited(oidc_on, idp, caplog, case):
    token = INVALID[case](idp)
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.oidc"):
        assert login(token) is None
    assert "OIDC login refused" in caplog.text
    assert REASONS[case] in caplog.text
    assert token not in caplog.text
    assert not User.objects.exists()
    assert AuditRecord.objects.filter(action="auth.login", result="denied", error_code="LOGIN_FAILED").count() == 1


def test_an_unknown_kid_refetches_at_most_once_a_minute(oidc_on, idp):
    stranger = other_rsa_key()
    for _ in range(3):
        assert login(idp.sign(idp.claims(), kid="rsa-9", signing_key=stranger)) is None
    assert idp.hits["/jwks"] == 2  # the first fetch, and one early refetch for the unknown key id


def test_a_nonce_must_match_when_given(oidc_on, idp):
    token = idp.sign(idp.claims(nonce="n-1"))
    assert login(token, nonce="n-2") is None
    assert login(token, nonce="n-1") is not None


def test_a_discovery_document_for_another_issuer_is_refused(oidc_on, idp, caplog):
    idp.issuer_claimed = "https://evil.example.com"
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.oidc"):
        assert login(idp.sign(idp.claims())) is None
    assert "discovery document names issuer 'https://evil.example.com'" in caplog.text


def test_an_unreachable_provider_fails_cleanly(oidc_on, idp, caplog):
    idp.down = True
    with caplog.at_level(logging.WARNING, logger="controlplane.iam.oidc"):
        assert login(idp.sign(idp.claims())) is None
    assert "cannot fetch" in caplog.text and "503" in caplog.text


def test_a_provider_that_does_not_listen_fails_fast(oidc_on):
    config = ProviderConfig(issuer=f"http://127.0.0.1:{free_port()}", client_id=CLIENT_ID)  # nobody listens
    started = time.monotonic()
    with pytest.raises(oidc.OIDCError, match="cannot fetch"):
        verify_id_token(jwt.encode({"a": 1}, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"), config)
    assert time.monotonic() - started < oidc.HTTP_TIMEOUT_SECONDS + 1


def test_a_token_without_the_username_claim_is_refused(oidc_on, idp):
    assert login(idp.sign(idp.claims(preferred_username=None))) is None


def test_oidc_is_off_without_an_issuer(oidc_on, idp):
    oidc_on.CONTROLPLANE_OIDC_ISSUER = None
    assert OIDCBackend().authenticate(request(), id_token=idp.sign(idp.claims())) is None


# --- the local user ---------------------------------------------------------------------------------------


def test_a_local_account_of_the_same_name_is_not_taken_over(oidc_on, idp):
    User.objects.create_user("erin", password="erin-local-password")
    assert login(idp.sign(idp.claims("erin"))) is None


def test_another_subject_with_the_same_username_is_refused(oidc_on, idp):
    first = login(idp.sign(idp.claims("erin")))
    assert first is not None
    # The provider now gives "erin" to someone else (renamed or recycled account).
    assert login(idp.sign(idp.claims("erin", sub="someone-else"))) is None
    assert login(idp.sign(idp.claims("erin"))) == first


def test_an_ldap_user_of_the_same_name_is_not_taken_over(oidc_on, idp):
    User.objects.create_user("erin", password=None)
    User.objects.filter(username="erin").update(password="!ldap:" + "x" * 40)
    assert login(idp.sign(idp.claims("erin"))) is None


# --- the console's authorization-code flow ----------------------------------------------------------


def start(client: Client, next_url: str = "/api/v1/auth/me/") -> dict[str, str]:
    response = client.get("/auth/oidc/login/", {"next": next_url})
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    return query


def test_code_flow_signs_in_to_the_console(oidc_on, idp):
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    assert urlsplit(client.get("/auth/oidc/login/")["Location"]).path == "/authorize"
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://localhost/auth/oidc/callback/"
    assert set(query["scope"].split()) >= {"openid"} and query["code_challenge_method"] == "S256"
    assert query["state"] and query["nonce"] and query["state"] != query["nonce"]

    token = idp.sign(idp.claims("erin", nonce=query["nonce"]))
    code = idp.issue_code(token, query["redirect_uri"], query["code_challenge"])
    done = client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]})
    assert done.status_code == 302 and done["Location"] == "/api/v1/auth/me/"
    assert client.get("/api/v1/auth/me/").json()["username"] == "erin"  # the session works
    assert client.get("/api/v1/tenants/").json()["results"] == []  # and grants nothing yet
    assert AuditRecord.objects.filter(action="auth.login", result="ok", actor_id="erin").exists()
    # the state was used up
    again = client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]})
    assert again.status_code == 400


def test_code_flow_refuses_a_foreign_state(oidc_on, idp):
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    code = idp.issue_code(idp.sign(idp.claims(nonce=query["nonce"])), query["redirect_uri"], query["code_challenge"])
    attacker = Client(SERVER_NAME="localhost")  # a victim's browser given someone else's callback URL
    refused = attacker.get("/auth/oidc/callback/", {"code": code, "state": query["state"]})
    assert refused.status_code == 400
    assert attacker.get("/api/v1/auth/me/").status_code in (401, 403)
    assert AuditRecord.objects.filter(action="auth.login", error_code="OIDC_STATE_INVALID").exists()


def test_code_flow_refuses_a_token_for_another_nonce(oidc_on, idp):
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    code = idp.issue_code(idp.sign(idp.claims(nonce="replayed")), query["redirect_uri"], query["code_challenge"])
    assert client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]}).status_code == 403
    assert client.get("/api/v1/auth/me/").status_code in (401, 403)


def test_code_flow_with_a_wrong_client_secret_fails(oidc_on, idp):
    oidc_on.CONTROLPLANE_OIDC_CLIENT_SECRET = "not-the-secret"
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    code = idp.issue_code(idp.sign(idp.claims(nonce=query["nonce"])), query["redirect_uri"], query["code_challenge"])
    assert client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]}).status_code == 502
    assert AuditRecord.objects.filter(action="auth.login", error_code="OIDC_EXCHANGE_FAILED").exists()


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_code_flow_sends_a_secret_with_reserved_characters_as_the_provider_supports(oidc_on, idp, method):
    # Basic: each part form-encoded before joining (RFC 6749 2.3.1), so ':' '%' '+' survive; post: in the form.
    idp.client_secret = oidc_on.CONTROLPLANE_OIDC_CLIENT_SECRET = "s3cr:et%2B+/ü"
    idp.auth_methods = [method]
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    code = idp.issue_code(idp.sign(idp.claims(nonce=query["nonce"])), query["redirect_uri"], query["code_challenge"])
    done = client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]})
    assert done.status_code == 302 and client.get("/api/v1/auth/me/").json()["username"] == "erin"


def test_code_flow_with_a_wrong_pkce_verifier_fails(oidc_on, idp):
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    token = idp.sign(idp.claims(nonce=query["nonce"]))
    # the challenge of some other verifier than the one this sign-in keeps in the session
    other = base64.urlsafe_b64encode(hashlib.sha256(b"another-verifier").digest()).rstrip(b"=").decode()
    code = idp.issue_code(token, query["redirect_uri"], other)
    assert client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]}).status_code == 502
    assert client.get("/api/v1/auth/me/").status_code in (401, 403)


def test_code_flow_reports_a_provider_refusal(oidc_on, idp):
    client = Client(SERVER_NAME="localhost")
    query = start(client)
    refused = client.get("/auth/oidc/callback/", {"error": "access_denied", "state": query["state"]})
    assert refused.status_code == 403
    assert AuditRecord.objects.filter(action="auth.login", error_code="OIDC_PROVIDER_REFUSED").exists()


def test_code_flow_does_not_redirect_off_site(oidc_on, idp):
    client = Client(SERVER_NAME="localhost")
    query = start(client, next_url="https://evil.example.com/")
    code = idp.issue_code(idp.sign(idp.claims(nonce=query["nonce"])), query["redirect_uri"], query["code_challenge"])
    assert client.get("/auth/oidc/callback/", {"code": code, "state": query["state"]})["Location"] == "/"


def test_code_flow_is_absent_without_oidc(oidc_on):
    oidc_on.CONTROLPLANE_OIDC_ISSUER = None
    assert Client(SERVER_NAME="localhost").get("/auth/oidc/login/").status_code == 404
