"""The long poll through a real daphne process on the test database: it answers as soon as an action is queued
(by another process), answers empty after ``wait``, refuses a revoked credential, and waiting polls hold no
thread each."""

from __future__ import annotations

import re
import socket
import threading

import httpx
import pytest
from django.db import connection

from controlplane.agents import actions, dispatch
from tests.agents.helpers import make_place, register, verify
from tests.agents.live import Server, daphne, database_url
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(master_keys, tmp_path):
    key = master_keys.key("test")
    with daphne(
        database_url=database_url(connection.settings_dict, connection.vendor),
        master_key=key,
        data_dir=tmp_path,
        extra_env={"CONTROLPLANE_LOG_LEVEL": "DEBUG"},  # the polls' parked lines (controlplane/agents/wakeup.py)
    ) as running:
        yield running


def logged(server: Server, pattern: str, message: str, times: int = 1) -> list[str]:
    """Wait for the ``times``-th line of daphne's output matching ``pattern``: what daphne's event loop did, as
    it saw it."""
    return wait_until(
        lambda: len(found := re.findall(pattern, server.output(), re.MULTILINE)) >= times and found,
        message=lambda: f"{message}: {times} x {pattern!r} in daphne's output\n{server.output()[-4000:]}",
    )


def poll(server, credential: str, wait: float, out: dict) -> None:
    answer = httpx.get(
        f"{server.url}/agent/v1/actions/next",
        params={"wait": wait},
        headers={"Authorization": f"Agent {credential}"},
        timeout=wait + 30,
    )
    out["status"] = answer.status_code
    out["body"] = answer.json()


def test_a_waiting_poll_answers_when_an_action_is_queued_and_empty_after_wait(server):
    place = make_place()
    reg = register(place)
    public_key = actions.active_key().public_key
    empty: dict = {}
    poll(server, reg.credential, 1, empty)
    assert (empty["status"], empty["body"]) == (200, {"actions": []})

    got: dict = {}
    waiting = threading.Thread(target=poll, args=(server, reg.credential, 25, got))
    waiting.start()
    # the empty poll above parked once: the action must arrive while this second one waits
    logged(server, rf"poll parked: agent {reg.agent_id},", "the second poll waiting", times=2)
    assert waiting.is_alive()
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="lp"
    )
    waiting.join(timeout=40)
    assert got["status"] == 200
    [envelope] = got["body"]["actions"]
    assert envelope["action"]["id"] == action_id
    verify(envelope, public_key)
    # woken by the action, not answered at the end of the wait
    assert re.search(rf"poll unparked \(woken\): agent {reg.agent_id},", server.output())
    assert dispatch.get_action(action_id).state == "DELIVERED"


def test_a_poll_the_agent_abandoned_claims_nothing(server):
    """An agent that stops (or loses its connection) while its poll waits must not have the next action
    handed to the dead connection: it stays PENDING and the agent's next poll gets it."""
    place = make_place()
    reg = register(place)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as agent:
        head = f"GET /agent/v1/actions/next?wait=25 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Agent {reg.credential}"
        agent.sendall(f"{head}\r\n\r\n".encode())
        logged(server, rf"poll parked: agent {reg.agent_id},", "the poll waiting")
    # The connection is closed: the poll ends without claiming. Once that is logged nothing of it is left to
    # claim the action queued next.
    logged(server, rf"agent {reg.agent_id} left its poll: nothing claimed", "the abandoned poll ending")
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="left"
    )
    assert dispatch.get_action(action_id).state == "PENDING"
    out: dict = {}
    poll(server, reg.credential, 5, out)
    assert [e["action"]["id"] for e in out["body"]["actions"]] == [action_id]


def test_a_revoked_agent_is_refused_by_the_long_poll(server):
    place = make_place()
    reg = register(place)
    actions.do_revoke_agent(metadata=place.meta, agent_id=reg.agent_id)
    out: dict = {}
    poll(server, reg.credential, 1, out)
    assert (out["status"], out["body"]["code"]) == (401, "AGENT_REVOKED")
    poll(server, "stag_nobody_nothing", 1, out)
    assert (out["status"], out["body"]["code"]) == (401, "AGENT_CREDENTIAL_INVALID")


def test_waiting_polls_do_not_hold_a_thread_each(server):
    place = make_place()
    agents = [register(place, hostname=f"node-{n}") for n in range(40)]
    baseline = server.threads()
    results = [{} for _ in agents]
    threads = [
        threading.Thread(target=poll, args=(server, a.credential, 8, out))
        for a, out in zip(agents, results, strict=True)
    ]
    for t in threads:
        t.start()
    logged(server, r"poll parked: agent \S+, 40 parked in this process", "every poll waiting at once")
    during = server.threads()
    for t in threads:
        t.join(timeout=40)
    assert all(r["status"] == 200 and r["body"] == {"actions": []} for r in results)
    # A thread per waiting poll would add 40; the shared executor adds a handful at most.
    assert during - baseline < 20, (baseline, during)


def test_heartbeats_through_daphne_update_liveness_and_answer_errors_in_the_envelope(server):
    from controlplane.agents.models import AgentLiveness
    from controlplane.eventlog.models import Event

    place = make_place()
    reg = register(place)
    before = Event.objects.count()
    for n in range(3):
        answer = httpx.post(
            f"{server.url}/agent/v1/heartbeat",
            json={"sent_at": f"s{n}", "facts": {"load_1m": n}},
            headers={"Authorization": f"Agent {reg.credential}", "X-Request-ID": f"hb-{n}"},
        )
        assert answer.status_code == 200 and answer.json()["heartbeat_interval_seconds"] == 10
        assert answer.headers["X-Request-ID"] == f"hb-{n}"
    row = AgentLiveness.unscoped.get(agent_id=reg.agent_id)
    assert (row.heartbeats, row.sent_at, row.facts) == (3, "s2", {"load_1m": 2})
    assert Event.objects.count() == before
    bad = httpx.post(
        f"{server.url}/agent/v1/heartbeat", content=b"{", headers={"Authorization": f"Agent {reg.credential}"}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "AGENT_REQUEST_INVALID")
    nobody = httpx.post(f"{server.url}/agent/v1/heartbeat", json={}, headers={"Authorization": "Agent stag_x_y"})
    assert (nobody.status_code, nobody.json()["code"]) == (401, "AGENT_CREDENTIAL_INVALID")
    assert nobody.headers["WWW-Authenticate"].startswith("Agent")
