"""Findings 3 and 4: login throttling by (name, address) with growing delays and a name-wide cap that never
locks out the right password from an address without failures; a login body that is not an object is a 400."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from controlplane.audit.models import AuditRecord
from controlplane.iam import throttle
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
STRANGER = "203.0.113.9"
HOME = "198.51.100.7"


@pytest.fixture
def world() -> World:
    built = build_world()
    built.users["root"].set_password(PASSWORD)
    built.users["root"].save()
    return built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The throttle's clock, moved by the test instead of waiting for real time to pass."""
    now = [1_000_000.0]
    monkeypatch.setattr(throttle, "now", lambda: now[0])
    return now


def login(client: Client, password: str = PASSWORD, address: str = HOME, username: str = "root"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_a_stranger_cannot_lock_out_a_user_who_logs_in_from_elsewhere(client, world):
    for _ in range(20):
        login(client, "wrong", STRANGER)
    assert login(client, address=HOME).status_code == 200
    console = Client(SERVER_NAME="localhost", REMOTE_ADDR=HOME)
    assert console.login(username="root", password=PASSWORD)


@override_settings(CONTROLPLANE_LOGIN_MAX_FAILURES=3)
def test_failures_from_one_address_bring_growing_delays_answered_429_with_retry_after(client, world, clock):
    for _ in range(3):
        assert login(client, "wrong", STRANGER).status_code == 401
    throttled = login(client, PASSWORD, STRANGER)  # even the right password, during the delay
    assert throttled.status_code == 429
    error = throttled.json()["error"]
    assert error["code"] == "LOGIN_THROTTLED" and error["details"]["retry_after_seconds"] == 1
    assert throttled["Retry-After"] == "1"
    audited = AuditRecord.objects.filter(action="auth.login", error_code="LOGIN_THROTTLED", actor_id="root")
    assert audited.filter(client_address=STRANGER).count() == 1
    delays = []
    for _ in range(4):
        clock[0] += delays[-1] if delays else 1
        assert login(client, "wrong", STRANGER).status_code == 401
        delays.append(int(login(client, "wrong", STRANGER)["Retry-After"]))
    assert delays == [2, 4, 8, 16]
    clock[0] += 16
    assert login(client, PASSWORD, STRANGER).status_code == 200  # the delay passed: the right password works
    assert login(client, "wrong", STRANGER).status_code == 401  # and the success cleared the pair's count


@override_settings(CONTROLPLANE_LOGIN_MAX_FAILURES=3, CONTROLPLANE_LOGIN_NAME_FAILURES=6)
def test_many_failures_for_one_name_slow_it_down_but_never_lock_it(client, world, clock):
    for n in range(6):
        assert login(client, "wrong", f"192.0.2.{n}").status_code == 401  # one failure each: no delay yet
    # the name is now under attack: an address that failed once waits after its first failure ...
    assert login(client, PASSWORD, "192.0.2.1").status_code == 429
    # ... but an address with no failure for this name is never slowed down: the right password works
    assert login(client, PASSWORD, HOME).status_code == 200
    # and other names are not affected by the attack on this one
    assert login(client, "wrong", "192.0.2.1", username="owner-user").status_code == 401


@pytest.mark.parametrize("body", ["[]", "5", '"root"', "null", '[{"username": "root"}]'])
@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/logout/"])
def test_a_body_that_is_not_an_object_is_a_400_in_the_envelope(client, world, body, path):
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "MALFORMED_REQUEST" and error["request_id"] == response["X-Request-ID"]
