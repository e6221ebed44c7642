"""The agent's outbound policy for URL-taking actions (health.check), against real local HTTP servers."""

from __future__ import annotations

import socket

import pytest

from agent import config, engine, handlers
from agent.outbound import OutboundPolicy
from tests.agent.test_handlers import context, run
from tests.recording_server import recording_server

DENY_LOOPBACK = {"outbound": {"deny_cidrs": ["127.0.0.0/8", "::1/128"]}}


def test_health_check_of_a_name_resolving_to_a_denied_address_fails_coded_and_sends_nothing(home, tmp_path):
    with recording_server(body=b'{"projectVersion": "2.3.12"}') as target:
        ctx = context(home, tmp_path, "health.check", {"url": f"http://localhost:{target.port}"}, raw=DENY_LOOPBACK)
        with pytest.raises(handlers.ActionFailed) as failed:
            run("health.check", ctx)
    assert failed.value.code == "OUTBOUND_TARGET_FORBIDDEN"
    assert "denied-cidr" in failed.value.message
    assert target.requests == []


def test_a_metadata_engine_url_is_never_fetched(home, tmp_path):
    raw = {"seatunnel": {"home": str(home), "engine_url": "http://metadata.google.internal"}}
    with pytest.raises(handlers.ActionFailed) as failed:
        run("health.check", context(home, tmp_path, "health.check", {}, raw=raw))
    assert failed.value.code == "OUTBOUND_TARGET_FORBIDDEN" and "cloud-metadata" in failed.value.message


def test_health_check_never_returns_another_services_answer(home, tmp_path):
    with recording_server(body=b'{"admin_token": "hunter2"}') as target:
        data = run("health.check", context(home, tmp_path, "health.check", {"url": target.url}))
    assert target.requests, "loopback is allowed by default"
    assert data["engine"]["reachable"] is False and "hunter2" not in repr(data)


def test_the_agent_connects_to_the_address_it_checked(monkeypatch):
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host, port, *args, **kwargs):
        if host == "engine.rebind.test":
            return real(next(answers, "127.0.0.2"), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with recording_server(body=b'{"projectVersion": "2.3.12"}') as target:
        assert engine.overview(f"http://engine.rebind.test:{target.port}", policy=OutboundPolicy())["projectVersion"]
    assert target.requests == [("GET", "/overview", f"engine.rebind.test:{target.port}")]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"outbound": {"deny_cidrs": ["10.0.0.0/33"]}}, "outbound: '10.0.0.0/33' is not a CIDR"),
        ({"outbound": {"allow_cidrs": "10.0.0.0/8"}}, "outbound.allow_cidrs: must be a list"),
        ({"outbound": {"deny": []}}, "outbound.deny: unknown key"),
    ],
)
def test_outbound_config_errors_are_one_line(raw, words):
    with pytest.raises(config.ConfigError, match=words):
        config.parse(raw)
