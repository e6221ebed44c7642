"""Request limits on the API (per credential; per address for requests without a valid credential) and on agent
enrolment (per address), answered 429 RATE_LIMITED with Retry-After; heartbeats are never limited. The rates
are lowered here only, to (requests, an hour), so no window ends while a test runs; each test first forgets the
counts of the keys it uses (the cache may be a Redis that outlives a run, and user ids repeat between tests)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.iam import ratelimit
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests.agents.helpers import make_place, register, register_body

pytestmark = pytest.mark.django_db
HOUR = 3600


def limited(answer) -> None:
    assert answer.status_code == 429, answer.content
    error = answer.json()["error"] if "error" in answer.json() else answer.json()
    assert error["code"] == "RATE_LIMITED"
    assert 1 <= int(answer["Retry-After"]) <= HOUR


@pytest.fixture
def fresh():
    """Forget the counts of the keys a test names, before it and after it."""
    named: list[tuple[str, str]] = []

    def forget(scope: str, ident: str) -> None:
        named.append((scope, ident))
        ratelimit.reset(scope, ident)

    yield forget
    for scope, ident in named:
        ratelimit.reset(scope, ident)


@pytest.fixture
def owner():
    tenant_id = tenancy.do_create_tenant(metadata=Metadata.for_system(None, reason="test"), name="Acme", slug="acme")
    user = User.objects.create_user("rate-owner")
    tenant = Tenant.objects.get(id=tenant_id)
    iam.do_grant_role(user=user, tenant=tenant, role="owner", metadata=Metadata.for_system(None, reason="tests"))
    return user, tenant


def test_each_api_token_has_its_own_limit(owner, settings):
    settings.CONTROLPLANE_RATE_LIMIT_TOKEN = (3, HOUR)
    user, tenant = owner
    _, first = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"), user=user, tenant=tenant, name="first"
    )
    _, second = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"), user=user, tenant=tenant, name="second"
    )
    client = Client(SERVER_NAME="localhost", REMOTE_ADDR="198.51.100.1")
    url = "/api/v1/tenants/acme/"
    for _ in range(3):
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 200
    answer = client.get(url, HTTP_AUTHORIZATION=f"Bearer {first}")
    limited(answer)
    assert answer.json()["error"]["details"]["retry_after_seconds"] == int(answer["Retry-After"])
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200


def test_a_users_jwts_share_one_limit(owner, settings, fresh):
    settings.CONTROLPLANE_RATE_LIMIT_TOKEN = (2, HOUR)
    user, _ = owner
    client = Client(SERVER_NAME="localhost", REMOTE_ADDR="198.51.100.2")
    fresh("credential", f"user:{user.pk}")
    for _ in range(2):
        access = RefreshToken.for_user(user).access_token  # a fresh access token each time
        assert client.get("/api/v1/tenants/acme/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    limited(
        client.get("/api/v1/tenants/acme/", HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    )


def test_an_address_without_a_valid_credential_is_limited_but_its_valid_credentials_pass(owner, settings, fresh):
    settings.CONTROLPLANE_RATE_LIMIT_ADDRESS = (3, HOUR)
    user, tenant = owner
    _, good = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"), user=user, tenant=tenant, name="good"
    )
    guesser = Client(SERVER_NAME="localhost", REMOTE_ADDR="198.51.100.3")
    fresh("address", "198.51.100.3")
    fresh("address", "198.51.100.4")
    bad = "Bearer stcp_abcdefgh_" + "x" * 43
    answers = [guesser.get("/api/v1/tenants/", HTTP_AUTHORIZATION=bad).status_code for _ in range(3)]
    assert answers == [401, 401, 401]
    limited(guesser.get("/api/v1/tenants/", HTTP_AUTHORIZATION=bad))  # a guess over the limit learns nothing
    limited(guesser.get("/api/v1/tenants/"))  # no credential: refused before anything else
    limited(
        guesser.post(
            "/api/v1/auth/token/",
            data=json.dumps({"username": "rate-owner", "password": "x"}),
            content_type="application/json",
        )
    )
    assert guesser.get("/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200
    other = Client(SERVER_NAME="localhost", REMOTE_ADDR="198.51.100.4")
    assert other.get("/api/v1/tenants/").status_code == 401  # another address is not affected


def test_enrolment_is_limited_per_address_and_heartbeats_never_are(client, settings, fresh):
    settings.CONTROLPLANE_RATE_LIMIT_ENROLMENT = (2, HOUR)
    settings.CONTROLPLANE_RATE_LIMIT_ADDRESS = (1, HOUR)
    settings.CONTROLPLANE_RATE_LIMIT_TOKEN = (1, HOUR)
    place = make_place()
    agent = register(place)  # through the action: the address limits below start empty
    fresh("enrolment", "198.51.100.5")

    def post(path: str, body: dict, **headers):
        return client.post(
            f"/agent/v1/{path}",
            data=json.dumps(body),
            content_type="application/json",
            REMOTE_ADDR="198.51.100.5",
            **headers,
        )

    assert [post("register", register_body("stbt_nope")).status_code for _ in range(2)] == [401, 401]
    limited(post("register", register_body("stbt_nope")))
    for _ in range(5):
        beat = post(
            "heartbeat",
            {"sent_at": "2026-01-01T00:00:00Z", "facts": {}},
            HTTP_AUTHORIZATION=f"Agent {agent.credential}",
        )
        assert beat.status_code == 200, beat.content
