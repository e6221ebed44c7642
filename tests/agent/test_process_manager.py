"""The process supervisor for real: the Zeta emulator as the service, started, restarted, stopped; a child
that dies; a child that ignores SIGTERM; an agent restart that finds the service it started."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from agent.managers.base import ManagerError
from agent.managers.process import ProcessManager
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0): it is gone for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def make(tmp_path: Path, table: dict, role: str = "service") -> ProcessManager:
    (tmp_path / "state").mkdir(exist_ok=True)
    return ProcessManager(table, state_dir=tmp_path / "state", log_dir=tmp_path / "home" / "logs", role=role)


@pytest.fixture
def emulator_table() -> dict:
    port = free_port()
    return {
        "command": [
            sys.executable,
            "-m",
            "controlplane.seatunnel.emulator",
            "--port",
            str(port),
            "--version",
            "2.3.12",
        ],
        "cwd": str(ROOT),
        "ready_url": f"http://127.0.0.1:{port}/overview",
        "ready_timeout_seconds": 30,
        "stop_timeout_seconds": 10,
        "_port": port,
    }


def test_the_emulator_under_the_supervisor(tmp_path, emulator_table):
    port = emulator_table.pop("_port")
    manager = make(tmp_path, emulator_table)
    assert manager.status().state == "stopped"
    started = manager.start(60)
    try:
        pid = started["status"]["pid"]
        assert started["status"]["state"] == "running"
        assert httpx.get(f"http://127.0.0.1:{port}/overview").json()["projectVersion"] == "2.3.12"
        # its own process group, a pid file in the state dir, output in the home's logs/
        assert os.getpgid(pid) == pid != os.getpgid(0)
        assert (tmp_path / "state" / "service.pid").exists()
        log = (tmp_path / "home" / "logs" / "seatunnel-agent-service.out").read_text()
        assert "listening on http://127.0.0.1" in log
        # starting a running service changes nothing
        assert manager.start(60)["already_running"] is True

        # an agent that restarted (a new manager object) finds it through the pid file
        again = make(tmp_path, emulator_table)
        assert again.status().state == "running" and again.status().pid == pid

        restarted = again.restart(60)
        new_pid = restarted["status"]["pid"]
        assert new_pid != pid and restarted["previous_pid"] == pid and gone(pid)
        assert httpx.get(f"http://127.0.0.1:{port}/overview").status_code == 200

        stopped = again.stop(30)
        assert stopped["stopped_with"] == "SIGTERM" and gone(new_pid)
        assert again.status().state == "stopped" and not (tmp_path / "state" / "service.pid").exists()
        assert again.stop(30)["already_stopped"] is True
    finally:
        manager.stop(10)


def test_a_child_that_dies_is_failed_until_started_again(tmp_path):
    manager = make(tmp_path, {"command": [sys.executable, "-c", "import signal; signal.pause()"]})
    pid = manager.start(10)["status"]["pid"]
    os.kill(pid, signal.SIGKILL)  # dies behind the supervisor's back
    wait_until(lambda: manager.status().state == "failed", timeout=10, message="the supervisor to see the child died")
    status = manager.status()
    assert status.pid == pid and status.detail["exit_code"] == -signal.SIGKILL
    # a fresh supervisor (agent restarted) sees the same: the pid file names a process that is gone
    assert make(tmp_path, {"command": ["true"]}).status().state == "failed"
    new_pid = manager.start(10)["status"]["pid"]
    assert new_pid != pid and manager.status().state == "running"
    manager.stop(10)


def test_a_child_that_exits_before_it_is_ready_fails_the_start(tmp_path):
    manager = make(
        tmp_path,
        {
            "command": [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"],
            "ready_url": "http://127.0.0.1:9/",
        },
    )
    with pytest.raises(ManagerError) as failure:
        manager.start(10)
    assert failure.value.code == "AGENT_SERVICE_NOT_READY" and "exited with 3" in failure.value.message
    assert "boom: bad config" in failure.value.output


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path):
    script = (
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('handler', 'installed', flush=True); signal.pause()"
    )
    manager = make(tmp_path, {"command": [sys.executable, "-c", script], "stop_timeout_seconds": 1})
    pid = manager.start(10)["status"]["pid"]
    log = tmp_path / "home" / "logs" / "seatunnel-agent-service.out"
    # (the command line in the log header has a comma there)
    wait_until(lambda: "handler installed" in log.read_text(), timeout=10, message="the SIGTERM handler installed")
    stopped = manager.stop(30)
    assert stopped["stopped_with"] == "SIGKILL" and gone(pid)


def test_stop_reaches_the_whole_process_group(tmp_path):
    # a start script that forks the real server (like seatunnel-cluster.sh starts java)
    script = (
        "import signal, subprocess, sys; "
        "c = subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()']); "
        "print(c.pid, flush=True); signal.pause()"
    )
    manager = make(tmp_path, {"command": [sys.executable, "-c", script], "stop_timeout_seconds": 5})
    manager.start(10)
    log = tmp_path / "home" / "logs" / "seatunnel-agent-service.out"
    wait_until(
        lambda: log.read_text().strip().splitlines()[-1].isdigit(), timeout=10, message="the grandchild's pid logged"
    )
    grandchild = int(log.read_text().strip().splitlines()[-1])
    manager.stop(10)
    wait_until(lambda: gone(grandchild), timeout=10, message="the start script's child to be gone after the stop")


def test_a_missing_executable_is_a_clear_error(tmp_path):
    manager = make(tmp_path, {"command": ["/nonexistent/seatunnel-cluster.sh"]})
    with pytest.raises(ManagerError, match=r"cannot start /nonexistent/seatunnel-cluster\.sh"):
        manager.start(5)
