"""An agent whose tenant is disabled keeps running, says so in its log, backs off, and keeps its results until the
tenant is enabled again (the fake control plane answers 403 TENANT_DISABLED meanwhile)."""

from __future__ import annotations

import logging

from tests.agent.test_agent import wait_until


def test_a_disabled_tenant_makes_the_agent_back_off_and_keep_its_results(cp, make_agent, home, caplog):
    caplog.set_level(logging.WARNING, logger="agent")
    harness = make_agent({"seatunnel": {"home": str(home)}}).start()
    wait_until(lambda: cp.heartbeats, message="a heartbeat")
    cp.results_down = True  # the result waits in the outbox
    action = cp.send("service.status")
    outbox = harness.state.outbox / f"{action['id']}.json"
    wait_until(outbox.exists, message="the result in the outbox")

    cp.tenant_disabled = True
    cp.results_down = False
    wait_until(lambda: "/agent/v1/heartbeat" in cp.disabled_refusals, message="a refused heartbeat")
    wait_until(lambda: f"/agent/v1/actions/{action['id']}/result" in cp.disabled_refusals, message="a refused result")
    assert harness.thread.is_alive() and harness.code is None  # not stopped: this is not a revocation
    assert outbox.exists() and not list((harness.state.outbox / "rejected").glob("*"))

    def heartbeat_backoff_logged() -> bool:  # the agent logs once it has read the refusal the fake recorded
        logged = [r.getMessage() for r in caplog.records if "tenant is disabled" in r.getMessage()]
        return any("heartbeat" in m and "backing off" in m for m in logged)

    wait_until(heartbeat_backoff_logged, message="the heartbeat's back-off in the agent's log")

    heartbeats = len(cp.heartbeats)
    cp.tenant_disabled = False
    [result] = cp.wait_for("results", action["id"], timeout=120)
    assert result["status"] == "failed"  # AGENT_NOT_CONFIGURED: no [service]; what matters is that it arrived
    wait_until(lambda: len(cp.heartbeats) > heartbeats, timeout=120, message="heartbeats again")
    harness.stop()
