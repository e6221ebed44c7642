"""A service bound to the agent (`with_agent = true`, the process manager) and a bootstrap token read from a
file: the service comes up before the agent registers, the agent waits for the token file, registers once it
appears, and stopping the agent stops the service (what `make run`'s demo relies on)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from tests.agent.test_cli import AgentProcess, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def emulator_config(tmp_path: Path, port: int, *, with_agent: bool) -> Path:
    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "agent.toml"
    config.write_text(
        "[heartbeat]\ninterval_seconds = 1\npoll_wait_seconds = 1\n"
        "[service]\n"
        'manager = "process"\n'
        f"command = {json.dumps([sys.executable, '-m', 'controlplane.seatunnel.emulator', '--port', str(port)])}\n"
        f"cwd = {json.dumps(str(root))}\n"
        f'ready_url = "http://127.0.0.1:{port}/overview"\n'
        f"with_agent = {'true' if with_agent else 'false'}\n"
    )
    return config


def test_the_service_starts_before_registration_and_stops_with_the_agent(cp, tmp_path):
    port = free_port()
    state = tmp_path / "state"
    token_file = tmp_path / "token"
    config = emulator_config(tmp_path, port, with_agent=True)
    agent = AgentProcess(
        "--server", cp.url, "--state-dir", str(state), "--config", str(config),
        "--bootstrap-token-file", str(token_file), log=tmp_path / "a.log",
    )  # fmt: skip
    try:
        # Up although the agent has no credential and no token yet.
        wait_until(lambda: "service started with the agent" in agent.output, message="the service's start")
        pid = json.loads((state / "service.pid").read_text())["pid"]
        assert httpx.get(f"http://127.0.0.1:{port}/overview", timeout=5).status_code == 200
        wait_until(lambda: "waiting for a bootstrap token in" in agent.output, message="the wait for a token")
        assert cp.registrations == [] and agent.proc.poll() is None
        token_file.write_text("stbt_good\n")
        wait_until(lambda: cp.heartbeats, message="a heartbeat after the token appeared")
        assert len(cp.registrations) == 1
        assert cp.heartbeats[-1]["facts"]["service"]["state"] == "running"
    finally:
        code = agent.stop(signal.SIGTERM)
    assert code == 0, agent.output
    assert not alive(pid), agent.output
    assert not (state / "service.pid").exists()
    assert "service stopped with the agent (SIGTERM)" in agent.output


def test_stopped_while_waiting_for_the_token_still_stops_the_service(cp, tmp_path):
    port = free_port()
    state = tmp_path / "state"
    config = emulator_config(tmp_path, port, with_agent=True)
    agent = AgentProcess(
        "--server", cp.url, "--state-dir", str(state), "--config", str(config),
        "--bootstrap-token-file", str(tmp_path / "never"), log=tmp_path / "a.log",
    )  # fmt: skip
    try:
        wait_until(lambda: "waiting for a bootstrap token in" in agent.output, message="the wait for a token")
        pid = json.loads((state / "service.pid").read_text())["pid"]
    finally:
        code = agent.stop(signal.SIGINT)
    assert code == 0, agent.output
    assert not alive(pid)
    assert cp.registrations == []


def test_without_with_agent_the_service_is_left_alone(cp, tmp_path):
    state = tmp_path / "state"
    config = emulator_config(tmp_path, free_port(), with_agent=False)
    agent = AgentProcess(
        "--server", cp.url, "--state-dir", str(state), "--config", str(config),
        "--bootstrap-token", "stbt_good", log=tmp_path / "a.log",
    )  # fmt: skip
    try:
        wait_until(lambda: cp.heartbeats, message="a heartbeat")
        assert cp.heartbeats[-1]["facts"]["service"]["state"] == "stopped"
    finally:
        assert agent.stop() == 0
    assert not (state / "service.pid").exists()
    assert os.listdir(state)  # the state dir was used: the agent ran, it just did not touch the service
