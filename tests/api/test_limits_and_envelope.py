"""Input limits and the envelope: oversized and deeply nested bodies, bodies that are not objects, unknown paths,
wrong methods, bad paging, impossible schedules and version numbers all answer a 4xx in the JSON envelope with a
stable code (docs/API.md), never a 500 or Django's HTML."""

from __future__ import annotations

import asyncio

import pytest
from django.test import Client, override_settings

from controlplane.agents.longpoll import heartbeat_app
from tests.agents.helpers import make_place, register
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["request_id"] == response["X-Request-ID"]
    return body


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
def test_a_body_over_the_limit_is_413_whatever_its_type(client, world, content_type):
    body = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = client.post("/api/v1/tenants/acme/workspaces/", body, content_type=content_type, **world.auth("owner"))
    details = error(response, 413, "REQUEST_TOO_LARGE")
    assert details["details"]["limit"] == 2 * 1024 * 1024


@override_settings(MAX_REQUEST_BYTES=4096)
def test_the_body_limit_is_a_setting(client, world):
    response = client.post(
        "/api/v1/tenants/acme/workspaces/",
        {"name": "x" * 5000, "slug": "big"},
        "application/json",
        **world.auth("owner"),
    )
    error(response, 413, "REQUEST_TOO_LARGE")


def test_json_nested_100000_levels_is_refused_with_a_code(client, world):
    response = client.post("/api/v1/tenants/acme/workspaces/", DEEP, "application/json", **world.auth("owner"))
    error(response, 400, "JSON_TOO_DEEP")


def test_nesting_inside_strings_does_not_count(client, world):
    name = "[[[[{{{{" * 40
    response = client.patch("/api/v1/tenants/acme/", {"name": name[:100]}, "application/json", **world.auth("owner"))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"1", b"null", b"NaN", b"{"])
def test_a_body_that_is_not_one_json_object_is_malformed(client, world, body):
    response = client.post("/api/v1/tenants/acme/workspaces/", body, "application/json", **world.auth("owner"))
    error(response, 400, "MALFORMED_REQUEST")


def test_a_login_body_of_an_empty_list_is_400_not_500(client, world):
    response = client.post("/api/v1/auth/token/", b"[]", "application/json")
    error(response, 400, "MALFORMED_REQUEST")


def test_form_bodies_are_unsupported(client, world):
    response = client.post("/api/v1/tenants/acme/workspaces/", {"name": "R", "slug": "r"}, **world.auth("owner"))
    error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_agent_heartbeat_through_django_refuses_deep_json(client):
    reg = register(make_place())
    response = client.post(
        "/agent/v1/heartbeat", DEEP, "application/json", HTTP_AUTHORIZATION=f"Agent {reg.credential}"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "JSON_TOO_DEEP"


@pytest.mark.django_db(transaction=True)  # the fast path reads the database on threads of its own
def test_agent_heartbeat_through_the_asgi_fast_path_refuses_deep_json_in_json():
    reg = register(make_place())
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": DEEP, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"authorization", f"Agent {reg.credential}".encode())]
    scope = {"type": "http", "method": "POST", "path": "/agent/v1/heartbeat", "headers": headers, "query_string": b""}
    asyncio.run(heartbeat_app(scope, receive, send))
    start, body = sent
    assert start["status"] == 400
    assert (b"content-type", b"application/json") in start["headers"]
    assert b'"JSON_TOO_DEEP"' in body["body"]


def test_diff_with_out_of_range_versions_is_400(client, world):
    job = world.objects["acme_job"]
    url = f"/api/v1/tenants/acme/workspaces/etl/jobs/{job}/diff/?from=-1&to=99999999999999999999"
    fields = error(client.get(url, **world.auth("owner")), 400, "VALIDATION_FAILED")["details"]["fields"]
    assert set(fields) == {"from", "to"}


def test_a_cron_that_never_fires_is_a_validation_error(client, world):
    job = world.objects["acme_job"]
    response = client.put(
        f"/api/v1/tenants/acme/workspaces/etl/jobs/{job}/schedule/",
        {"cron": "0 0 31 2 *", "timezone": "UTC"},
        "application/json",
        **world.auth("owner"),
    )
    assert error(response, 400, "JOB_SCHEDULE_INVALID")["details"]["field"] == "cron"


def test_a_nul_character_in_the_query_is_refused_before_the_database(client, world):
    response = client.get("/api/v1/tenants/acme/workspaces/etl/runs/?state=RUN%00NING", **world.auth("owner"))
    error(response, 400, "MALFORMED_REQUEST")


def test_unknown_api_paths_are_404_in_the_envelope(client, world):
    error(client.get("/api/v1/no-such-thing/", **world.auth("owner")), 404, "NOT_FOUND")
    error(client.get("/api/nothing"), 404, "NOT_FOUND")


def test_a_method_a_route_does_not_have_is_405_with_allow(client, world):
    run = world.objects["acme_run_running"]
    response = client.put(
        f"/api/v1/tenants/acme/workspaces/etl/runs/{run}/", {}, "application/json", **world.auth("owner")
    )
    error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    response = client.delete("/api/v1/auth/me/", **world.auth("owner"))
    error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("size", ["0", "-1", "501", "abc", "1.5", "9" * 30])
def test_a_bad_page_size_is_400(client, world, size):
    response = client.get(f"/api/v1/tenants/acme/workspaces/?page_size={size}", **world.auth("owner"))
    assert error(response, 400, "PAGE_SIZE_INVALID")["details"]["field"] == "page_size"


def test_a_cursor_the_server_did_not_hand_out_is_400(client, world):
    error(client.get("/api/v1/tenants/acme/workspaces/?cursor=abc", **world.auth("owner")), 400, "CURSOR_INVALID")
