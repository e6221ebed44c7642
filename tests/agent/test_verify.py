"""The agent's checks on a signed action, in the contract's order, with a real Ed25519 key."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent import catalog, verify
from agent.state import StateDir
from tests.agent.fakecp import Signer

AGENT = "agent-1"


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    s = StateDir(tmp_path / "state")
    s.prepare()
    return s


def policy(signer: Signer, allow: frozenset[str] = catalog.READ_ONLY_TYPES, limits=None) -> verify.Policy:
    return verify.Policy.pinned(
        agent_id=AGENT, key_id=signer.key_id, public_key_b64=signer.public_b64, allowlist=allow, limits=limits or {}
    )


def test_a_good_action_runs_with_defaults_filled_in(signer, state):
    action = signer.action(AGENT, "log.tail", {"file": "seatunnel-engine-server.log"})
    verdict = verify.verify(signer.envelope(action), policy(signer), state)
    assert verdict.kind == "run"
    assert verdict.params == {"file": "seatunnel-engine-server.log", "lines": 200}


def test_canonical_json_is_the_documented_form():
    action = {"b": 1, "a": "é", "c": {"z": [1, 2], "y": None}}
    assert verify.canonical(action) == '{"a":"é","b":1,"c":{"y":null,"z":[1,2]}}'.encode()


def test_a_tampered_action_is_refused(signer, state):
    envelope = signer.envelope(signer.action(AGENT, "log.tail", {"file": "a.log"}))
    envelope["action"]["params"]["file"] = "b.log"  # changed after signing
    verdict = verify.verify(envelope, policy(signer), state)
    assert (verdict.kind, verdict.code) == ("refuse", "AGENT_SIGNATURE_INVALID")


def test_a_signature_by_another_key_is_refused_even_with_the_right_key_id(signer, state):
    forger = Signer(key_id=signer.key_id)  # same key id, different private key
    envelope = forger.envelope(forger.action(AGENT, "service.status"))
    assert verify.verify(envelope, policy(signer), state).code == "AGENT_SIGNATURE_INVALID"


def test_an_unknown_key_id_is_refused(signer, state):
    other = Signer(key_id="k2", key=signer.key)  # the right key under a key id that is not the pinned one
    verdict = verify.verify(other.envelope(other.action(AGENT, "service.status")), policy(signer), state)
    assert verdict.code == "AGENT_SIGNATURE_INVALID" and "pinned" in verdict.message


@pytest.mark.parametrize("signature", ["", "not base64!!", base64.b64encode(b"x" * 64).decode()])
def test_missing_or_garbage_signatures_are_refused(signer, state, signature):
    envelope = signer.envelope(signer.action(AGENT, "service.status"))
    envelope["signature"] = signature
    assert verify.verify(envelope, policy(signer), state).code == "AGENT_SIGNATURE_INVALID"


def test_an_action_for_another_agent_is_refused(signer, state):
    envelope = signer.envelope(signer.action("agent-2", "service.status"))
    verdict = verify.verify(envelope, policy(signer), state)
    assert verdict.code == "AGENT_SIGNATURE_INVALID" and "another agent" in verdict.message


def test_an_expired_action_is_refused_with_30_seconds_of_skew_allowed(signer, state):
    now = time.time()
    issued = datetime.fromtimestamp(now, UTC) - timedelta(seconds=100)
    # expired 20 s ago: inside the skew allowance, still runs
    fresh = signer.action(AGENT, "service.status", issued_at=issued, expires_in=80)
    assert verify.verify(signer.envelope(fresh), policy(signer), state, now=now).kind == "run"
    # expired 40 s ago: refused
    stale = signer.action(AGENT, "service.status", issued_at=issued, expires_in=60)
    verdict = verify.verify(signer.envelope(stale), policy(signer), state, now=now)
    assert verdict.code == "AGENT_ACTION_EXPIRED"


def test_a_narrower_configured_skew_refuses_sooner_and_a_wider_one_is_a_config_error(signer, state):
    from dataclasses import replace

    from agent import config

    now = time.time()
    issued = datetime.fromtimestamp(now, UTC) - timedelta(seconds=100)
    late = signer.action(AGENT, "service.status", issued_at=issued, expires_in=95)  # expired 5 s ago
    assert verify.verify(signer.envelope(late), policy(signer), state, now=now).kind == "run"
    narrow = replace(policy(signer), skew_seconds=config.parse({"expiry_skew_seconds": 0}).expiry_skew_seconds)
    assert verify.verify(signer.envelope(late), narrow, state, now=now).code == "AGENT_ACTION_EXPIRED"
    # wider than the 30 s that seen nonces are kept for would let a forgotten nonce be replayed
    with pytest.raises(config.ConfigError, match="expiry_skew_seconds"):
        config.parse({"expiry_skew_seconds": 31})


def test_expiry_is_checked_before_the_allowlist(signer, state):
    action = signer.action(AGENT, "plugin.install", {}, expires_in=-120)  # not allowlisted either
    assert verify.verify(signer.envelope(action), policy(signer), state).code == "AGENT_ACTION_EXPIRED"


def test_a_nonce_seen_under_another_id_is_a_replay(signer, state):
    first = signer.action(AGENT, "service.status")
    assert verify.verify(signer.envelope(first), policy(signer), state).kind == "run"
    state.claim(first, "running")
    replay = signer.action(AGENT, "service.status", nonce=first["nonce"])  # a new id with the old nonce
    verdict = verify.verify(signer.envelope(replay), policy(signer), state)
    assert verdict.code == "AGENT_ACTION_REPLAYED"
    # the replay did not take the nonce over: it still belongs to the first id
    state.claim(replay, "refused")
    assert state.nonce_owner(first["nonce"]) == first["id"]


def test_the_same_id_again_is_a_duplicate_not_a_replay(signer, state):
    action = signer.action(AGENT, "service.status")
    state.claim(action, "running")
    verdict = verify.verify(signer.envelope(action), policy(signer), state)
    assert verdict.kind == "duplicate" and verdict.previous["state"] == "running"


def test_seen_nonces_survive_a_restart_and_are_pruned_after_expiry(signer, state, tmp_path):
    action = signer.action(AGENT, "service.status", expires_in=60)
    state.claim(action, "running")
    state.finish(action, "done", {"kind": "result", "body": {"status": "succeeded"}})
    reopened = StateDir(tmp_path / "state")  # a new agent process reads the same directory
    replay = signer.action(AGENT, "service.status", nonce=action["nonce"])
    assert verify.verify(signer.envelope(replay), policy(signer), reopened).code == "AGENT_ACTION_REPLAYED"
    assert reopened.prune(now=time.time() + 60) == 0  # not yet past expiry + skew
    assert reopened.prune(now=time.time() + 60 + 31) == 1
    assert reopened.nonce_owner(action["nonce"]) is None
    assert list(reopened.seen.iterdir()) == []


def test_a_type_outside_the_local_allowlist_is_refused(signer, state):
    action = signer.action(AGENT, "service.restart", {"timeout_seconds": 30})
    verdict = verify.verify(signer.envelope(action), policy(signer), state)  # read-only default allowlist
    assert verdict.code == "AGENT_ACTION_NOT_ALLOWED"
    allowed = policy(signer, allow=frozenset({"service.restart"}))
    assert verify.verify(signer.envelope(action), allowed, state).kind == "run"


def test_an_unknown_type_is_refused_even_if_listed(signer, state):
    action = signer.action(AGENT, "shell.exec", {"command": "rm -rf /"})
    verdict = verify.verify(signer.envelope(action), policy(signer, allow=frozenset({"shell.exec"})), state)
    assert verdict.code == "AGENT_ACTION_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("type_", "params", "why"),
    [
        ("log.tail", {}, "file is required"),
        ("log.tail", {"file": "../../etc/passwd"}, "relative"),
        ("log.tail", {"file": "/etc/passwd"}, "relative"),
        ("log.tail", {"file": "a.log", "lines": 5001}, "at most 5000"),
        ("log.tail", {"file": "a.log", "lines": "10"}, "integer"),
        ("log.tail", {"file": "a.log", "lines": True}, "integer"),
        ("log.tail", {"file": "a.log", "command": "cat"}, "unknown parameter"),
        ("service.restart", {"timeout_seconds": 0}, "at least 1"),
        ("diagnostics.collect", {"include_thread_dump": 1}, "true or false"),
        ("plugin.install", {"name": "../x.jar", "sha256": "0" * 64, "size": 1}, "not allowed"),
        ("plugin.install", {"name": "x.jar", "sha256": "XYZ", "size": 1}, "not allowed"),
        ("health.check", {"url": "http://169.254.169.254/latest/meta-data"}, "neither loopback"),
        ("health.check", {"url": "file:///etc/passwd"}, "http"),
    ],
)
def test_params_outside_the_schema_are_refused(signer, state, type_, params, why):
    allow = frozenset(catalog.SCHEMAS)
    verdict = verify.verify(signer.envelope(signer.action(AGENT, type_, params)), policy(signer, allow), state)
    assert verdict.code == "AGENT_PARAMS_INVALID", verdict
    assert why in verdict.message


def test_local_limits_lower_the_catalog_maximum(signer, state):
    action = signer.action(AGENT, "log.tail", {"file": "a.log", "lines": 600})
    limited = policy(signer, limits={"log.tail": {"lines": 500}})
    verdict = verify.verify(signer.envelope(action), limited, state)
    assert verdict.code == "AGENT_PARAMS_INVALID" and "at most 500" in verdict.message


def test_health_check_may_name_the_configured_engine_host(signer, state):
    action = signer.action(AGENT, "health.check", {"url": "http://10.0.0.5:8080"})
    p = verify.Policy.pinned(
        agent_id=AGENT,
        key_id=signer.key_id,
        public_key_b64=signer.public_b64,
        allowlist=catalog.READ_ONLY_TYPES,
        limits={},
        local_hosts=frozenset({"10.0.0.5"}),
    )
    assert verify.verify(signer.envelope(action), p, state).kind == "run"


def test_the_duplicate_of_a_finished_action_carries_its_stored_outcome(signer, state):
    action = signer.action(AGENT, "service.status")
    state.claim(action, "running")
    outcome = {"kind": "result", "body": {"status": "succeeded", "data": {"x": 1}}}
    state.finish(action, "done", outcome)
    verdict = verify.verify(signer.envelope(action), policy(signer), state)
    assert verdict.kind == "duplicate" and verdict.previous["outcome"] == outcome
    record = json.loads((state.seen / f"{action['id']}.json").read_text())
    assert record["state"] == "done"
