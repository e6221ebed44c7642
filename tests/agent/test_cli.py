"""`python -m agent` as a real process: config errors, registering once, surviving a control plane that
goes away, and a result that waits in the outbox across an agent that was killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def agent_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent", *args]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(agent_cmd(*args), cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


class AgentProcess:
    def __init__(self, *args: str, log: Path) -> None:
        self.log = log
        self.handle = open(log, "ab")
        self.proc = subprocess.Popen(
            agent_cmd("--log-level", "DEBUG", *args), cwd=ROOT, stdout=self.handle, stderr=subprocess.STDOUT
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.handle.close()

    @property
    def output(self) -> str:
        return self.log.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("server = ", "not valid TOML"),
        ('server = "ftp://x"', "server: must be an http(s) URL"),
        ("[service]\nmanager = 'upstart'", "service.manager: must be one of systemd, compose, kubernetes, process"),
        ("[allowlist]\ntypes = ['shell.exec']", "allowlist.types: unknown action type(s) shell.exec"),
        ("[allowlist.limits.'log.tail']\nlines = 9000", "allowlist.limits.log.tail.lines: must be from 1 to 5000"),
        ("[heartbeat]\ninterval_seconds = 0", "heartbeat.interval_seconds: must be an integer from 1 to 3600"),
        ("member_address = 'nohost'", "member_address: must be host:port"),
        ("[seatunnel]\nhome = '/opt/st'\nhomme = 'typo'", "seatunnel.homme: unknown key"),
        ("[service]\nmanager = 'process'\ncommand = 'bin/seatunnel-cluster.sh'", "service: command must be"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "agent.toml"
    path.write_text(content)
    done = run_cli("--config", str(path), "--check-config")
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"agent: config error: {path}: "), done.stderr
    assert message in lines[0]


def test_missing_config_file_and_missing_token(tmp_path):
    done = run_cli("--config", str(tmp_path / "nope.toml"))
    assert done.returncode == 2 and "no such file" in done.stderr
    done = run_cli("--server", "http://127.0.0.1:9", "--state-dir", str(tmp_path / "s"))
    assert done.returncode == 2 and "no bootstrap token" in done.stderr


def test_a_good_config_checks(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text((ROOT / "deploy" / "agent" / "agent.example.toml").read_text())
    done = run_cli("--config", str(path), "--check-config")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "config ok"


def test_a_bad_token_exits_3(cp, tmp_path):
    done = run_cli("--server", cp.url, "--bootstrap-token", "stbt_nope", "--state-dir", str(tmp_path / "s"))
    assert done.returncode == 3 and "AGENT_BOOTSTRAP_TOKEN_INVALID" in done.stderr
    assert not (tmp_path / "s" / "credential.json").exists()


def test_registers_once_and_rides_out_a_control_plane_outage(cp, tmp_path):
    state = tmp_path / "state"
    config = tmp_path / "agent.toml"
    config.write_text("[heartbeat]\ninterval_seconds = 1\npoll_wait_seconds = 1\n")
    first = AgentProcess(
        "--server",
        cp.url,
        "--bootstrap-token",
        "stbt_good",
        "--state-dir",
        str(state),
        "--config",
        str(config),
        log=tmp_path / "a1.log",
    )
    try:
        wait_until(lambda: cp.heartbeats, message="a heartbeat")
        assert oct((state / "credential.json").stat().st_mode & 0o777) == "0o600"
        cp.down = True  # the control plane goes away...
        wait_until(lambda: "heartbeat: POST /agent/v1/heartbeat: HTTP 503" in first.output, message="a 503")
        # it keeps trying rather than exiting: another refused call comes after the first
        refused = first.output.count("HTTP 503")
        wait_until(lambda: first.output.count("HTTP 503") > refused, message="another 503")
        assert first.proc.poll() is None
        seen = len(cp.heartbeats)
        cp.down = False  # ...and comes back
        wait_until(lambda: len(cp.heartbeats) > seen, message="heartbeats again")
    finally:
        assert first.stop() == 0
    # restarted without a token: it uses the stored credential and does not register again
    second = AgentProcess(
        "--server", cp.url, "--state-dir", str(state), "--config", str(config), log=tmp_path / "a2.log"
    )
    try:
        count = len(cp.heartbeats)
        wait_until(lambda: len(cp.heartbeats) > count, message="heartbeats from the second run")
        assert len(cp.registrations) == 1
    finally:
        assert second.stop() == 0


def test_a_pending_result_survives_an_agent_kill(cp, tmp_path, home):
    state = tmp_path / "state"
    config = tmp_path / "agent.toml"
    config.write_text(f"[heartbeat]\npoll_wait_seconds = 1\n[seatunnel]\nhome = '{home}'\n")
    args = ("--server", cp.url, "--bootstrap-token", "stbt_good", "--state-dir", str(state), "--config", str(config))
    cp.results_down = True
    first = AgentProcess(*args, log=tmp_path / "a1.log")
    action = cp.send("log.tail", {"file": "seatunnel-engine-server.log", "lines": 1})
    pending = state / "outbox" / f"{action['id']}.json"
    try:
        wait_until(pending.exists, message="the result in the outbox")
        wait_until(lambda: "outbox:" in first.output, message="a refused delivery")
    finally:
        first.stop(signal.SIGKILL)
    stored = json.loads(pending.read_text())
    assert not cp.results
    cp.results_down = False
    second = AgentProcess(*args, log=tmp_path / "a2.log")
    try:
        [delivered] = cp.wait_for("results", action["id"])
        assert delivered == stored["body"] and delivered["data"]["lines"] == ["line 1000"]
        wait_until(lambda: not pending.exists(), message="the outbox emptied")
        # the same action delivered again to the new process is not run again. (First let the killed agent's
        # last long poll run out on the fake control plane, or that dead request would take the envelope.)
        wait_until(lambda: second.output.count("poll: waiting up to 1 s") >= 3, message="two polls by the new agent")
        cp.push(cp.signer.envelope(action))
        wait_until(lambda: len(cp.results[action["id"]]) == 2, message="the stored result sent again")
        assert cp.results[action["id"]][1] == delivered
    finally:
        assert second.stop() == 0
    assert "registered as agent" not in second.output
    assert os.path.exists(state / "seen" / f"{action['id']}.json")
