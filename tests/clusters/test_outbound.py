"""Outbound connections to clusters keep to the policy (resolved once, every address checked, the connection to
the checked address) and no error gives the endpoint's answer back: registration, the connection test, the health
poll and run submission, against real local HTTP servers."""

from __future__ import annotations

import json
import socket

import pytest
from django.test import Client

from controlplane.clusters import health
from controlplane.clusters.connect import client_for
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.outbound.policy import OutboundPolicy, OutboundTargetForbidden
from controlplane.seatunnel.client import ZetaClient
from tests.api.world import World, build_world
from tests.recording_server import recording_server

pytestmark = pytest.mark.django_db
W = "/api/v1/tenants/acme/workspaces/etl"
DENY_LOOPBACK = ["127.0.0.0/8", "::1/128"]
SECRET_ANSWER = b"internal-admin-token=hunter2"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def register(client: Client, world: World, endpoint: str):
    body = {"name": "probe", "form": "bare_metal", "mode": "hybrid", "endpoints": [endpoint]}
    return client.post(f"{W}/clusters/", data=json.dumps(body), content_type="application/json", **world.auth("admin"))


def test_registration_to_a_name_resolving_to_a_denied_address_is_refused_before_any_request(client, world, settings):
    settings.CONTROLPLANE_OUTBOUND_DENY_CIDRS = DENY_LOOPBACK
    with recording_server() as target:
        answer = register(client, world, f"http://localhost:{target.port}")  # resolves to loopback
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "OUTBOUND_TARGET_FORBIDDEN"
    assert error["details"] == {"host": "localhost", "rule": "denied-cidr"}
    assert target.requests == []


@pytest.mark.parametrize(
    ("endpoint", "rule"),
    [
        ("http://metadata.google.internal", "cloud-metadata"),
        ("http://169.254.169.254", "cloud-metadata"),
        ("http://100.100.100.200", "cloud-metadata"),
        ("http://[fd00:ec2::254]", "cloud-metadata"),
        ("http://169.254.10.10:8080", "link-local"),
        ("http://[fe80::1]:8080", "link-local"),
        ("http://0.0.0.0:8080", "unspecified"),
        ("http://224.0.0.1:8080", "multicast"),
        ("http://255.255.255.255:8080", "broadcast"),
    ],
)
def test_metadata_link_local_and_special_addresses_are_denied_by_default(client, world, endpoint, rule):
    answer = register(client, world, endpoint)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "OUTBOUND_TARGET_FORBIDDEN"
    assert answer.json()["error"]["details"]["rule"] == rule


def test_an_allowlist_refuses_every_other_address(client, world, settings):
    settings.CONTROLPLANE_OUTBOUND_ALLOW_CIDRS = ["10.0.0.0/8"]
    with recording_server() as target:
        answer = register(client, world, target.url)
    assert answer.json()["error"]["details"] == {"host": "127.0.0.1", "rule": "not-in-allowed-cidrs"}
    assert target.requests == []


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, SECRET_ANSWER, "text/plain"),  # not JSON
        (200, b'{"note": "internal-admin-token=hunter2"}', "application/json"),  # JSON, not an overview
        (500, SECRET_ANSWER, "text/html"),
        (400, b'{"status": "fail", "message": "internal-admin-token=hunter2"}', "application/json"),
        (401, SECRET_ANSWER, "text/plain"),
    ],
)
def test_registration_errors_never_echo_the_endpoints_answer(client, world, status, body, content_type):
    with recording_server(status=status, body=body, content_type=content_type) as target:
        answer = register(client, world, target.url)
    assert answer.status_code in (400, 422, 501, 502), answer.content
    assert target.requests, "the endpoint is allowed: it was asked"
    assert b"hunter2" not in answer.content
    details = answer.json()["error"]["details"]
    assert set(details) <= {"status", "attempts", "failure"}


def test_the_connection_test_keeps_to_the_policy(client, world, settings):
    url = f"{W}/clusters/{world.objects['acme_cluster']}/test/"
    assert client.post(url, **world.auth("viewer")).status_code == 200  # the emulator, on loopback
    settings.CONTROLPLANE_OUTBOUND_DENY_CIDRS = DENY_LOOPBACK
    refused = client.post(url, **world.auth("viewer"))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "OUTBOUND_TARGET_FORBIDDEN"


def test_the_health_poll_records_a_forbidden_target_and_sends_nothing(world, settings):
    with recording_server() as target:
        cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
        cluster.endpoints = [f"http://localhost:{target.port}"]  # as if its name moved since registration
        settings.CONTROLPLANE_OUTBOUND_DENY_CIDRS = DENY_LOOPBACK
        observed = health.poll_one(
            cluster, metadata=Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id)
        )
    assert (observed.reachable, observed.error_code) == (False, "OUTBOUND_TARGET_FORBIDDEN")
    assert target.requests == []


def test_the_run_submission_client_keeps_to_the_policy(world, settings):
    with recording_server() as target:
        cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
        cluster.endpoints = [target.url]
        settings.CONTROLPLANE_OUTBOUND_DENY_CIDRS = DENY_LOOPBACK
        with client_for(cluster) as zeta, pytest.raises(OutboundTargetForbidden):
            zeta.submit_job({"env": {}, "source": [], "sink": []}, job_name="x")
    assert target.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_host_header_kept(monkeypatch):
    """DNS rebinding: the name answers an allowed address first and another one after; the request must go to
    the first (checked) one, so it is resolved exactly once."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host, port, *args, **kwargs):
        if host == "cluster.rebind.test":
            address = next(answers, "127.0.0.2")  # after the first answer: somewhere else
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with recording_server(body=b'{"projectVersion": "2.3.12"}') as target:
        with ZetaClient(
            f"http://cluster.rebind.test:{target.port}", api="v2", retries=0, policy=OutboundPolicy()
        ) as zeta:
            assert zeta.overview().version == "2.3.12"
    assert target.requests == [("GET", "/overview", f"cluster.rebind.test:{target.port}")]


def test_every_resolved_address_must_pass():
    policy = OutboundPolicy.from_cidrs(deny=["127.0.0.2/32"])
    assert policy.rule_against(__import__("ipaddress").ip_address("127.0.0.2")) == "denied-cidr"
    assert policy.rule_against(__import__("ipaddress").ip_address("::ffff:169.254.169.254")) == "cloud-metadata"
    assert policy.resolve("127.0.0.1", 80) == ["127.0.0.1"]
