"""The long poll through a real daphne process on the test database: it answers as soon as an action is queued
(by another process), answers empty after ``wait``, refuses a revoked credential, and waiting polls hold no
thread each."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from django.db import connection

from controlplane.agents import actions, dispatch
from tests.agents.helpers import make_place, register, verify
from tests.agents.live import daphne, database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(master_keys, tmp_path):
    key = master_keys.key("test")
    with daphne(
        database_url=database_url(connection.settings_dict, connection.vendor), master_key=key, data_dir=tmp_path
    ) as running:
        yield running


def poll(server, credential: str, wait: float, out: dict) -> None:
    started = time.monotonic()
    answer = httpx.get(
        f"{server.url}/agent/v1/actions/next",
        params={"wait": wait},
        headers={"Authorization": f"Agent {credential}"},
        timeout=wait + 30,
    )
    out["elapsed"] = time.monotonic() - started
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
    time.sleep(1.5)  # let the poll start waiting: the action must arrive while it waits
    assert waiting.is_alive()
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="lp"
    )
    waiting.join(timeout=40)
    assert got["status"] == 200
    [envelope] = got["body"]["actions"]
    assert envelope["action"]["id"] == action_id
    verify(envelope, public_key)
    # Woken by the action, not by the end of the wait (25 s): a generous bound on behaviour, not speed.
    assert got["elapsed"] < 20
    assert dispatch.get_action(action_id).state == "DELIVERED"


def test_a_poll_the_agent_abandoned_claims_nothing(server):
    """An agent that stops (or loses its connection) while its poll waits must not have the next action
    handed to the dead connection: it stays PENDING and the agent's next poll gets it."""
    place = make_place()
    reg = register(place)
    with pytest.raises(httpx.ReadTimeout):  # the client gives up after 1 s of a 25 s wait and closes
        httpx.get(
            f"{server.url}/agent/v1/actions/next",
            params={"wait": 25},
            headers={"Authorization": f"Agent {reg.credential}"},
            timeout=1,
        )
    time.sleep(0.5)  # daphne tells the app about the closed connection
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="left"
    )
    time.sleep(2)  # several rounds of the watcher (every 0.5 s) that would wake the abandoned poll
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
    time.sleep(3)  # every poll is in and waiting (they wait 8 s)
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
