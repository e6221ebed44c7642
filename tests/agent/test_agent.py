"""The agent's loops against the fake control plane: registration, heartbeats, refusals reported with
their codes, a duplicate id run once, progress with output, cancel, results retried until acknowledged."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from agent import daemon
from agent.state import StateDir
from tests.waiting import wait_until


def test_registers_once_and_keeps_the_credential_private(cp, make_agent, tmp_path):
    harness = make_agent({"member_address": "127.0.0.1:5801"})
    state_dir = tmp_path / "state"
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    cred = state_dir / "credential.json"
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    stored = json.loads(cred.read_text())
    assert stored == {
        "server": cp.url,
        "agent_id": "agent-1",
        "credential": "stag_agent-1_secret",
        "signing_key": {"key_id": "k1", "public_key": cp.signer.public_b64},
    }
    [registration] = cp.registrations
    assert registration["member_address"] == "127.0.0.1:5801"
    assert registration["allowlist"] == sorted(harness.config.allowlist)
    assert registration["facts"]["cpu_count"] >= 1
    # A second agent on the same state dir does not register again (the token is used up anyway).
    make_agent({"member_address": "127.0.0.1:5801"})
    assert len(cp.registrations) == 1


def test_a_used_bootstrap_token_is_refused(cp, tmp_path):
    from agent import config

    cfg = config.parse({"server": cp.url, "state_dir": str(tmp_path / "s")})
    state = StateDir(cfg.state_dir)
    state.prepare()
    with pytest.raises(daemon.Refused, match="AGENT_BOOTSTRAP_TOKEN_INVALID"):
        daemon.register(cfg, state, cp.url, "stbt_wrong", __import__("threading").Event())
    assert not state.credential_path.exists()


def test_heartbeats_carry_the_node_facts(cp, make_agent, home):
    make_agent({"seatunnel": {"home": str(home)}}).start()
    beat = wait_until(lambda: cp.heartbeats and cp.heartbeats[-1], message="a heartbeat")
    facts = beat["facts"]
    assert facts["seatunnel_version"] == "2.3.12" and facts["seatunnel_version_source"] == "home"
    assert facts["disk"]["path"] == str(home) and facts["disk"]["total_bytes"] > 0
    assert facts["memory_total_bytes"] > 0 and isinstance(facts["addresses"], list)
    assert facts["service"] == {"manager": None, "state": "unknown"}
    assert [jar["artifact"] for jar in facts["connector_jars"]] == ["connector-console", "connector-fake"]
    assert facts["lib_jars"] == []  # the home's lib/ is there and has no jar
    assert "sent_at" in beat


def test_refusals_are_reported_with_their_codes(cp, make_agent):
    make_agent().start()
    not_allowed = cp.send("service.restart", {"timeout_seconds": 5})
    bad_params = cp.send("log.tail", {"file": "../secret"})
    expired = cp.send("service.status", expires_in=-60)
    assert cp.wait_for("refusals", not_allowed["id"])[0]["code"] == "AGENT_ACTION_NOT_ALLOWED"
    assert cp.wait_for("refusals", bad_params["id"])[0]["code"] == "AGENT_PARAMS_INVALID"
    assert cp.wait_for("refusals", expired["id"])[0]["code"] == "AGENT_ACTION_EXPIRED"
    forged = cp.signer.action("agent-1", "service.status")
    envelope = cp.signer.envelope(forged)
    envelope["action"]["type"] = "diagnostics.collect"
    cp.push(envelope)
    assert cp.wait_for("refusals", forged["id"])[0]["code"] == "AGENT_SIGNATURE_INVALID"
    assert not cp.results  # nothing ran


def test_the_same_action_id_runs_once_and_its_result_is_sent_again(cp, make_agent, tmp_path):
    marker = tmp_path / "starts.txt"
    script = f"open({str(marker)!r}, 'a').write('started\\n'); import signal; signal.pause()"
    harness = make_agent(
        {
            "allowlist": {"types": ["service.start", "service.status"]},
            "service": {"manager": "process", "command": [sys.executable, "-c", script]},
        }
    ).start()
    action = cp.send("service.start", {"timeout_seconds": 10})
    [first] = cp.wait_for("results", action["id"])
    assert first["status"] == "succeeded" and first["data"]["status"]["state"] == "running"
    cp.push(cp.signer.envelope(action))  # the same signed envelope again
    results = wait_until(
        lambda: len(cp.results.get(action["id"], [])) >= 2 and cp.results[action["id"]], message="two results"
    )
    assert results[1] == first  # the stored result, not a second run
    # the verdict that sent the stored result is the one that would have started a second run: nothing to wait for
    assert marker.read_text() == "started\n"
    assert harness.agent.service.status().state == "running"


def test_progress_streams_output_and_a_cancel_stops_the_action(cp, make_agent, tmp_path):
    # A service whose readiness URL never answers: the start waits until cancelled.
    make_agent(
        {
            "allowlist": {"types": ["service.start", "log.tail"]},
            "service": {
                "manager": "process",
                "command": [sys.executable, "-c", "import signal; signal.pause()"],
                "ready_url": "http://127.0.0.1:9/never",
                "ready_timeout_seconds": 600,
            },
        }
    ).start()
    action = cp.send("service.start", {"timeout_seconds": 600})
    progress = wait_until(lambda: cp.progress.get(action["id"]), message="progress")
    assert progress[0]["seq"] == 1 and "start" in progress[0]["message"]
    cp.cancel.add(action["id"])
    [result] = cp.wait_for("results", action["id"])
    assert result["status"] == "cancelled" and result["error"]["code"] == "AGENT_ACTION_CANCELLED"
    seqs = [p["seq"] for p in cp.progress[action["id"]]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_log_tail_output_goes_out_as_progress_chunks(cp, make_agent, home):
    make_agent({"seatunnel": {"home": str(home)}}).start()
    action = cp.send("log.tail", {"file": "seatunnel-engine-server.log", "lines": 3})
    [result] = cp.wait_for("results", action["id"])
    assert result["status"] == "succeeded" and result["exit_code"] == 0
    assert result["data"]["lines"] == ["line 998", "line 999", "line 1000"]
    assert result["output_tail"] == "line 998\nline 999\nline 1000\n"
    chunks = "".join(p.get("output", "") for p in cp.progress[action["id"]])
    assert chunks == "line 998\nline 999\nline 1000\n"


def test_a_result_is_retried_until_acknowledged(cp, make_agent, home):
    harness = make_agent({"seatunnel": {"home": str(home)}}).start()
    cp.results_down = True
    action = cp.send("service.status")
    outbox = harness.state.outbox / f"{action['id']}.json"
    wait_until(outbox.exists, message="the result in the outbox")
    wait_until(lambda: cp.refused_results >= 1, message="a refused delivery")
    assert not cp.results and outbox.exists()
    cp.results_down = False
    [result] = cp.wait_for("results", action["id"])
    assert result["status"] == "failed" and result["error"]["code"] == "AGENT_NOT_CONFIGURED"
    wait_until(lambda: not outbox.exists(), message="the outbox emptied")


def test_a_revoked_agent_stops(cp, make_agent):
    harness = make_agent().start()
    wait_until(lambda: cp.heartbeats, message="a heartbeat")
    cp.revoked = True
    harness.thread.join(timeout=30)
    assert harness.code == daemon.EXIT_REFUSED


def test_diagnostics_bundle_is_uploaded_before_its_result(cp, make_agent, home):
    make_agent({"seatunnel": {"home": str(home)}}).start()
    action = cp.send("diagnostics.collect", {"since_minutes": 5, "include_thread_dump": False})
    [result] = cp.wait_for("results", action["id"])
    assert result["status"] == "succeeded", result
    artifact = result["data"]["artifact"]
    bundle = cp.artifacts[action["id"]]
    import hashlib

    assert hashlib.sha256(bundle).hexdigest() == artifact["sha256"] and len(bundle) == artifact["size"]


def test_an_interrupted_action_is_reported_failed_after_a_restart(cp, make_agent, tmp_path):
    state_dir = tmp_path / "state"
    first = make_agent(state_dir=state_dir)
    action = cp.signer.action("agent-1", "service.status")
    first.state.claim(action, "running")  # what a killed agent leaves behind
    make_agent(state_dir=state_dir).start()
    [result] = cp.wait_for("results", action["id"])
    assert result["status"] == "failed" and result["error"]["code"] == "AGENT_ACTION_INTERRUPTED"
    assert Path(state_dir / "seen" / f"{action['id']}.json").exists()


def test_long_output_goes_out_in_chunks_the_control_plane_keeps(cp, make_agent, home):
    (home / "logs" / "wide.log").write_text("".join(f"{i:05d} " + "x" * 200 + "\n" for i in range(5000)))
    make_agent({"seatunnel": {"home": str(home)}}).start()
    action = cp.send("log.tail", {"file": "wide.log", "lines": 5000})
    [result] = cp.wait_for("results", action["id"])
    assert result["status"] == "succeeded"
    chunks = [p["output"] for p in cp.progress[action["id"]] if p.get("output")]
    assert len(chunks) > 1 and all(len(c) <= 60_000 for c in chunks)
    assert "".join(chunks) == (home / "logs" / "wide.log").read_text()
