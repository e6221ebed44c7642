"""The agent-facing API (/agent/v1/) through Django's test client, and the actions behind it, on the real
database: registration, credentials, revocation, heartbeats, liveness, actions, results, refusals, artifacts."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from unittest import mock

import pytest
from cryptography.exceptions import InvalidSignature
from django.utils import timezone

from controlplane.agents import actions, dispatch
from controlplane.agents.domain.agent import LOST, ONLINE, REVOKED, STALE
from controlplane.agents.models import Action, ActionArtifact, ActionOutput, Agent, AgentLiveness, BootstrapToken
from controlplane.agents.subscribers import REVOKED_AGENTS_ACTIONS
from controlplane.audit.models import AuditRecord
from controlplane.errors import DomainError
from controlplane.eventlog.models import Event
from controlplane.eventlog.store import read_stream
from tests.agents.helpers import (
    as_agent,
    authenticated,
    claim,
    issue_token,
    make_place,
    register,
    register_body,
    verify,
)
from tests.eventlog.fingerprint import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def place():
    return make_place()


def post(client, path: str, body: dict, credential: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Agent {credential}"} if credential else {}
    return client.post(f"/agent/v1/{path}", data=json.dumps(body), content_type="application/json", **headers)


def types_of(stream_id: str) -> list[str]:
    return [e.event_type for e in read_stream(stream_id)]


def test_a_bootstrap_token_registers_one_agent_and_never_a_second(client, place):
    token = issue_token(place, expires_in_seconds=600)
    assert token.startswith("stbt_")
    first = post(client, "register", register_body(token))
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["credential"].startswith(f"stag_{body['agent_id']}_")
    assert set(body["signing_key"]) == {"key_id", "public_key"}
    assert len(base64.b64decode(body["signing_key"]["public_key"])) == 32
    assert body["heartbeat_interval_seconds"] == 10 and body["poll_timeout_seconds"] == 25
    agent = Agent.unscoped.get(id=body["agent_id"])
    assert (agent.tenant_id, agent.status, agent.member_address) == (place.tenant_id, ONLINE, "10.0.0.1:5801")
    assert BootstrapToken.unscoped.get().used
    assert types_of(f"bootstrap-token-{BootstrapToken.unscoped.get().id}") == [
        "agents.bootstrap_token_issued",
        "agents.bootstrap_token_used",
    ]
    assert types_of(f"agent-{body['agent_id']}")[0] == "agents.agent_registered"
    events_before, agents_before = Event.objects.count(), Agent.unscoped.count()

    second = post(client, "register", register_body(token, hostname="node-2"))
    assert second.status_code == 401
    assert second.json()["code"] == "AGENT_BOOTSTRAP_TOKEN_INVALID"
    assert second.json()["error"]["code"] == "AGENT_BOOTSTRAP_TOKEN_INVALID"
    assert (Event.objects.count(), Agent.unscoped.count()) == (events_before, agents_before)
    audit = list(AuditRecord.objects.filter(action="agent.register").order_by("id").values_list("result", "error_code"))
    assert audit == [("ok", ""), ("denied", "AGENT_BOOTSTRAP_TOKEN_INVALID")]
    # the credential's digest is stored, never the credential, and no event carries either
    text = "".join(Event.objects.values_list("payload", flat=True))
    assert body["credential"] not in text and token not in text
    assert hashlib.sha256(token.encode()).hexdigest() not in text


def test_unknown_expired_and_revoked_tokens_are_refused(client, place):
    assert post(client, "register", register_body("stbt_nope")).json()["code"] == "AGENT_BOOTSTRAP_TOKEN_INVALID"
    token_id, text = actions.do_issue_bootstrap_token(
        metadata=place.meta, tenant_id=place.tenant_id, workspace_id=place.workspace_id, expires_in_seconds=60
    )
    actions.do_revoke_bootstrap_token(metadata=place.meta, token_id=token_id)
    assert types_of(f"bootstrap-token-{token_id}")[-1] == "agents.bootstrap_token_revoked"
    assert post(client, "register", register_body(text)).status_code == 401
    expiring = issue_token(place, expires_in_seconds=60)
    an_hour_later = timezone.now() + timedelta(hours=1)
    with mock.patch("controlplane.agents.actions.timezone.now", return_value=an_hour_later):
        with pytest.raises(DomainError) as refused:
            actions.do_register_agent(**register_body(expiring))
    assert refused.value.code == "AGENT_BOOTSTRAP_TOKEN_INVALID"
    assert Agent.unscoped.count() == 0


def test_the_credential_authenticates_and_nothing_else_does(client, place):
    reg = register(place)
    assert post(client, "heartbeat", {"sent_at": "x", "facts": {}}, reg.credential).status_code == 200
    for wrong in (None, "stag_x_y", reg.credential[:-2] + "xx", f"stag_{reg.agent_id}_"):
        answer = post(client, "heartbeat", {"facts": {}}, wrong)
        assert answer.status_code == 401
        assert answer.json()["code"] == "AGENT_CREDENTIAL_INVALID"
    bearer = client.post(
        "/agent/v1/heartbeat", data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {reg.credential}"
    )
    assert bearer.status_code == 401


def test_a_revoked_agent_gets_401_and_no_more_work(client, place):
    reg = register(place)
    queued = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="k-queued"
    )
    actions.do_revoke_agent(metadata=place.meta, agent_id=reg.agent_id, reason="decommissioned")
    assert Agent.unscoped.get(id=reg.agent_id).status == REVOKED
    answer = post(client, "heartbeat", {"facts": {}}, reg.credential)
    assert (answer.status_code, answer.json()["code"]) == (401, "AGENT_REVOKED")
    drain(REVOKED_AGENTS_ACTIONS)  # its queued actions end after the revocation, through the subscriber
    assert dispatch.get_action(queued).state == "CANCELLED"
    with pytest.raises(DomainError) as refused:
        dispatch.request_action(
            metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="k-after"
        )
    assert refused.value.code == "AGENT_REVOKED"
    assert "agents.agent_revoked" in types_of(f"agent-{reg.agent_id}")


def test_heartbeats_update_the_liveness_row_and_write_no_events(client, place):
    reg = register(place)
    before = Event.objects.count()
    for n in range(5):
        facts = {"hostname": "node-1", "load_1m": n, "disk": {"path": "/", "free_bytes": 10 - n}}
        answer = post(client, "heartbeat", {"sent_at": f"2026-11-26T13:00:0{n}Z", "facts": facts}, reg.credential)
        assert answer.status_code == 200 and answer.json()["heartbeat_interval_seconds"] == 10
    assert Event.objects.count() == before
    row = AgentLiveness.unscoped.get(agent_id=reg.agent_id)
    assert row.heartbeats == 5 and row.facts["load_1m"] == 4 and row.sent_at == "2026-11-26T13:00:04Z"


def test_silence_makes_an_agent_stale_then_lost_and_a_heartbeat_brings_it_back(client, place):
    reg = register(place)
    seen = AgentLiveness.unscoped.get(agent_id=reg.agent_id).last_heartbeat_at
    assert actions.check_liveness(now=seen + timedelta(seconds=29), interval_seconds=10) == {"stale": 0, "lost": 0}
    assert actions.check_liveness(now=seen + timedelta(seconds=30), interval_seconds=10) == {"stale": 1, "lost": 0}
    assert Agent.unscoped.get(id=reg.agent_id).status == STALE
    assert actions.check_liveness(now=seen + timedelta(seconds=60), interval_seconds=10) == {"stale": 0, "lost": 0}
    assert actions.check_liveness(now=seen + timedelta(seconds=100), interval_seconds=10) == {"stale": 0, "lost": 1}
    assert Agent.unscoped.get(id=reg.agent_id).status == LOST
    assert post(client, "heartbeat", {"facts": {}}, reg.credential).status_code == 200
    assert Agent.unscoped.get(id=reg.agent_id).status == ONLINE
    assert types_of(f"agent-{reg.agent_id}") == [
        "agents.agent_registered",
        "agents.agent_stale",
        "agents.agent_lost",
        "agents.agent_online",
    ]
    # online again: a second heartbeat is no event
    post(client, "heartbeat", {"facts": {}}, reg.credential)
    assert len(types_of(f"agent-{reg.agent_id}")) == 4


def test_an_agent_silent_for_ten_intervals_goes_straight_to_lost(place):
    reg = register(place)
    seen = AgentLiveness.unscoped.get(agent_id=reg.agent_id).last_heartbeat_at
    assert actions.check_liveness(now=seen + timedelta(seconds=100), interval_seconds=10)["lost"] == 1
    assert types_of(f"agent-{reg.agent_id}")[-1] == "agents.agent_lost"


def test_the_same_key_is_the_same_action_and_writes_nothing(place):
    reg = register(place)
    first = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="log.tail", params={"file": "a.log"}, key="op1/s1"
    )
    count = Event.objects.count()
    again = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="log.tail", params={"file": "a.log"}, key="op1/s1"
    )
    assert again == first and Event.objects.count() == count
    assert types_of(f"action-{first}") == ["agents.action_requested"]
    with pytest.raises(DomainError) as reused:
        dispatch.request_action(
            metadata=place.meta, agent_id=reg.agent_id, action_type="service.stop", params={}, key="op1/s1"
        )
    assert reused.value.code == "AGENT_ACTION_KEY_REUSED"


def test_requests_are_checked_against_the_catalog_and_the_agents_allowlist(place):
    reg = register(place, allowlist=["service.status"])
    assert Agent.unscoped.get(id=reg.agent_id).allowlist == ["service.status"]
    cases = [
        ("rm -rf", {}, "AGENT_ACTION_TYPE_UNKNOWN"),
        ("service.restart", {}, "AGENT_ACTION_NOT_ALLOWED"),
        ("service.status", {"x": 1}, "AGENT_PARAMS_INVALID"),
    ]
    for n, (action_type, params, code) in enumerate(cases):
        with pytest.raises(DomainError) as refused:
            dispatch.request_action(
                metadata=place.meta, agent_id=reg.agent_id, action_type=action_type, params=params, key=f"k{n}"
            )
        assert refused.value.code == code
    other = make_place("beta")
    with pytest.raises(DomainError) as crossing:
        dispatch.request_action(
            metadata=other.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="x"
        )
    assert crossing.value.code == "AGENT_NOT_FOUND"
    assert Action.unscoped.count() == 0


def test_envelopes_verify_with_the_public_key_from_registration(client, place):
    token = issue_token(place)
    body = post(client, "register", register_body(token)).json()
    agent = authenticated(body["credential"])
    action_id = dispatch.request_action(
        metadata=place.meta,
        agent_id=body["agent_id"],
        action_type="log.tail",
        params={"file": "seatunnel-engine-server.log", "lines": 100},
        key="sig",
    )
    [envelope] = claim(agent)
    action = envelope["action"]
    assert action["id"] == action_id and action["agent_id"] == body["agent_id"]
    assert action["key_id"] == body["signing_key"]["key_id"]
    assert len(base64.b64decode(action["nonce"])) == 16
    verify(envelope, body["signing_key"]["public_key"])
    forged = {**envelope, "action": {**action, "params": {"file": "../../etc/shadow", "lines": 100}}}
    with pytest.raises(InvalidSignature):
        verify(forged, body["signing_key"]["public_key"])
    assert dispatch.get_action(action_id).state == "DELIVERED"
    assert types_of(f"action-{action_id}") == ["agents.action_requested", "agents.action_delivered"]
    assert claim(agent) == []  # handed over once; redelivered only if it never starts
    later = timezone.now() + actions.REDELIVER_AFTER + timedelta(seconds=1)
    [again] = claim(agent, now=later)
    assert again == envelope  # the same bytes: the agent runs an id once


def test_a_refusal_is_recorded_and_audited(client, place):
    reg = register(place)
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.restart", params={}, key="r"
    )
    claim(authenticated(reg.credential))
    body = {"code": "AGENT_ACTION_NOT_ALLOWED", "message": "service.restart is not in the local allowlist"}
    answer = post(client, f"actions/{action_id}/refusal", body, reg.credential)
    assert answer.status_code == 200 and answer.json()["state"] == "REFUSED"
    view = dispatch.get_action(action_id)
    assert (view.state, view.error_code, view.finished) == ("REFUSED", "AGENT_ACTION_NOT_ALLOWED", True)
    assert types_of(f"action-{action_id}")[-1] == "agents.action_refused"
    audit = AuditRecord.objects.get(action="agent_action.refused")
    assert (audit.actor_kind, audit.actor_id, audit.resource_id, audit.result, audit.error_code) == (
        "agent",
        reg.agent_id,
        action_id,
        "denied",
        "AGENT_ACTION_NOT_ALLOWED",
    )
    assert audit.tenant_id == place.tenant_id
    # a refusal for another agent's action is not found
    other = register(place, hostname="node-2")
    assert post(client, f"actions/{action_id}/refusal", body, other.credential).status_code == 404


def test_a_result_delivered_twice_is_acknowledged_and_changes_nothing(client, place):
    reg = register(place)
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="res"
    )
    claim(authenticated(reg.credential))
    result = {
        "status": "succeeded",
        "exit_code": 0,
        "data": {"state": "active"},
        "output_tail": "active (running)\n",
        "error": None,
        "started_at": "2026-11-26T13:00:00+00:00",
        "finished_at": "2026-11-26T13:00:01+00:00",
    }
    first = post(client, f"actions/{action_id}/result", result, reg.credential)
    assert first.status_code == 200 and first.json()["state"] == "SUCCEEDED"
    count = Event.objects.count()
    second = post(client, f"actions/{action_id}/result", {**result, "status": "failed"}, reg.credential)
    assert second.status_code == 200 and second.json()["state"] == "SUCCEEDED"
    assert Event.objects.count() == count
    view = dispatch.get_action(action_id)
    assert view.result == {"state": "active"} and view.output_tail == "active (running)\n" and view.finished
    row = Action.unscoped.get(id=action_id)
    assert row.exit_code == 0 and row.finished_at is not None
    assert types_of(f"action-{action_id}").count("agents.action_succeeded") == 1


def test_a_failed_result_keeps_its_error(client, place):
    reg = register(place)
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.start", params={}, key="f"
    )
    claim(authenticated(reg.credential))
    post(client, f"actions/{action_id}/progress", {"seq": 1, "message": "starting"}, reg.credential)
    body = {"status": "failed", "exit_code": 3, "data": {}, "error": {"code": "SERVICE_FAILED", "message": "no"}}
    assert post(client, f"actions/{action_id}/result", body, reg.credential).status_code == 200
    view = dispatch.get_action(action_id)
    assert (view.state, view.error_code, view.error_message) == ("FAILED", "SERVICE_FAILED", "no")
    assert types_of(f"action-{action_id}")[-1] == "agents.action_failed"


def test_actions_not_picked_up_in_time_expire(place):
    reg = register(place)
    agent = authenticated(reg.credential)
    now = timezone.now()
    delivered = actions.do_request_action(
        metadata=place.meta,
        agent_id=reg.agent_id,
        action_type="health.check",
        params={},
        key="e2",
        expires_in_seconds=10,
        now=now,
    )
    claim(agent)
    queued = actions.do_request_action(
        metadata=place.meta,
        agent_id=reg.agent_id,
        action_type="service.status",
        params={},
        key="e1",
        expires_in_seconds=10,
        now=now,
    )
    assert actions.expire_actions(now=now + timedelta(seconds=9)) == 0
    assert actions.expire_actions(now=now + timedelta(seconds=10)) == 1  # the queued one
    assert dispatch.get_action(queued).state == "EXPIRED"
    assert dispatch.get_action(delivered).state == "DELIVERED"  # the agent may still start it (skew allowance)
    assert actions.expire_actions(now=now + timedelta(seconds=40)) == 1
    view = dispatch.get_action(delivered)
    assert (view.state, view.error_code, view.finished) == ("EXPIRED", "AGENT_ACTION_EXPIRED", True)
    assert [types_of(f"action-{a}")[-1] for a in (queued, delivered)] == ["agents.action_expired"] * 2


def test_a_cancel_reaches_the_agent_in_its_progress_answer(client, place):
    reg = register(place)
    running = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="diagnostics.collect", params={}, key="c1"
    )
    claim(authenticated(reg.credential))
    answer = post(client, f"actions/{running}/progress", {"seq": 1, "percent": 10, "message": "logs"}, reg.credential)
    assert answer.json() == {"cancel": False}
    assert dispatch.get_action(running).state == "RUNNING"
    dispatch.request_cancel(metadata=place.meta, action_id=running)
    answer = post(client, f"actions/{running}/progress", {"seq": 2, "percent": 20, "message": "x"}, reg.credential)
    assert answer.json() == {"cancel": True}
    post(client, f"actions/{running}/result", {"status": "cancelled", "data": {}}, reg.credential)
    assert dispatch.get_action(running).state == "CANCELLED"
    assert "agents.action_cancel_requested" in types_of(f"action-{running}")
    # a queued action is cancelled at once: the agent never sees it
    queued = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="c2"
    )
    dispatch.request_cancel(metadata=place.meta, action_id=queued)
    assert dispatch.get_action(queued).state == "CANCELLED"
    assert claim(authenticated(reg.credential)) == []
    dispatch.request_cancel(metadata=place.meta, action_id=queued)  # finished: nothing happens
    assert types_of(f"action-{queued}") == [
        "agents.action_requested",
        "agents.action_cancel_requested",
        "agents.action_cancelled",
    ]


def test_progress_events_are_rate_limited_and_output_goes_to_its_own_table(place):
    reg = register(place)
    agent = authenticated(reg.credential)
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="log.tail", params={"file": "x.log"}, key="p"
    )
    claim(agent)
    now = timezone.now()
    for seq in range(1, 6):
        actions.do_record_progress(
            **as_agent(agent),
            action_id=action_id,
            seq=seq,
            percent=seq * 10,
            message=f"m{seq}",
            output=f"line {seq}\n",
            now=now,
        )
    actions.do_record_progress(
        **as_agent(agent), action_id=action_id, seq=3, percent=30, message="m3", output="dup\n", now=now
    )
    assert types_of(f"action-{action_id}").count("agents.action_progressed") >= 1
    later = timezone.now() + timedelta(seconds=2)
    actions.do_record_progress(**as_agent(agent), action_id=action_id, seq=6, percent=60, message="m6", now=later)
    progressed = [e for e in read_stream(f"action-{action_id}") if e.event_type == "agents.action_progressed"]
    # the first one (DELIVERED -> RUNNING) and one after a second had passed; the burst in between is dropped
    assert [e.data.message for e in progressed] == ["m1", "m6"]
    chunks = list(ActionOutput.objects.filter(action_id=action_id).values_list("seq", "chunk"))
    assert chunks == [(n, f"line {n}\n") for n in range(1, 6)]  # seq 3 sent twice is stored once


def test_artifacts_are_checked_against_their_hash_and_files_are_served_by_hash(client, place, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    reg = register(place)
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="diagnostics.collect", params={}, key="a"
    )
    data = b"bundle bytes" * 1000
    sha = hashlib.sha256(data).hexdigest()
    auth = {"HTTP_AUTHORIZATION": f"Agent {reg.credential}"}
    bad = client.put(
        f"/agent/v1/actions/{action_id}/artifact",
        data=data,
        content_type="application/octet-stream",
        HTTP_X_CONTENT_SHA256="0" * 64,
        **auth,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "AGENT_ARTIFACT_HASH_MISMATCH")
    assert not (tmp_path / "artifacts" / ("0" * 64)).exists()
    good = client.put(
        f"/agent/v1/actions/{action_id}/artifact",
        data=data,
        content_type="application/octet-stream",
        HTTP_X_CONTENT_SHA256=sha,
        **auth,
    )
    assert good.status_code == 201 and (tmp_path / "artifacts" / sha).read_bytes() == data
    assert ActionArtifact.objects.get(action_id=action_id).size == len(data)
    assert AuditRecord.objects.filter(action="agent_action.artifact", result="ok").count() == 1

    # a file published for agents: nothing in the control plane publishes one yet, so the test puts it in the store
    jar = hashlib.sha256(b"PK\x03\x04 jar").hexdigest()
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / jar).write_bytes(b"PK\x03\x04 jar")
    fetched = client.get(f"/agent/v1/files/{jar}", **auth)
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == b"PK\x03\x04 jar"
    assert client.get(f"/agent/v1/files/{'1' * 64}", **auth).status_code == 404
    assert client.get(f"/agent/v1/files/{jar}").status_code == 401


def test_agents_for_cluster_lists_the_agents_of_a_cluster(place):
    from controlplane.clusters import actions as clusters
    from tests.api.world import emulator_url

    cluster_id = clusters.do_register_cluster(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[emulator_url()],
    )
    token = issue_token(place, cluster_id=cluster_id)
    reg = actions.do_register_agent(**register_body(token, hostname="b-node"))
    register(place, hostname="a-node")  # no cluster
    [view] = dispatch.agents_for_cluster(place.tenant_id, cluster_id)
    assert (view.id, view.hostname, view.status, view.member_address) == (
        reg.agent_id,
        "b-node",
        "online",
        "10.0.0.1:5801",
    )
    assert view.last_heartbeat_at is not None
    assert dispatch.agents_for_cluster("someone-else", cluster_id) == []


def test_the_beat_task_checks_liveness_and_expires_actions(place):
    from controlplane.agents import tasks

    reg = register(place)
    long_ago = timezone.now() - timedelta(hours=1)
    AgentLiveness.unscoped.filter(agent_id=reg.agent_id).update(last_heartbeat_at=long_ago)
    actions.do_request_action(
        metadata=place.meta,
        agent_id=reg.agent_id,
        action_type="service.status",
        params={},
        key="old",
        expires_in_seconds=10,
        now=long_ago,
    )
    assert tasks.check_liveness() == {"stale": 0, "lost": 1, "expired": 1}
    assert tasks.check_liveness() == {"stale": 0, "lost": 0, "expired": 0}
