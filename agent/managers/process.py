"""A plain process supervisor: runs a configured command line as a child in its own process group.

For development and tests (it runs the Zeta emulator as "the SeaTunnel service") and for hosts without
systemd. The pid file (`<state_dir>/<role>.pid`, with the process's start time so a recycled pid is not
mistaken for ours) lets an agent that restarted find the service it started; stdout and stderr go to a
log file under the SeaTunnel home's logs/. Stop is SIGTERM to the whole group, then SIGKILL after the
timeout. A service that died without being stopped is `failed` until it is started or stopped again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from agent.managers import base
from agent.managers.base import ManagerError, ServiceManager, ServiceStatus
from agent.state import now_iso, write_atomic


class ProcessManager(ServiceManager):
    kind = "process"

    def __init__(self, table: dict[str, Any], *, state_dir: Path, log_dir: Path, role: str) -> None:
        super().__init__()
        base.known_keys(
            table,
            {
                "command", "cwd", "env", "stop_timeout_seconds", "ready_url", "ready_timeout_seconds", "log_file",
                "with_agent",
            },
        )  # fmt: skip
        command = table.get("command")
        if not isinstance(command, list) or not command or not all(isinstance(c, str) and c for c in command):
            raise base.ConfigError("command must be a non-empty list of strings (argv, no shell)")
        self.command: list[str] = command
        self.cwd = base.string(table, "cwd") if "cwd" in table else None
        env = table.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise base.ConfigError("env must be a table of strings")
        self.env: dict[str, str] = env
        self.stop_timeout = base.integer(table, "stop_timeout_seconds", 30, 1, 3600)
        self.ready_url = base.string(table, "ready_url") if "ready_url" in table else None
        self.ready_timeout = base.integer(table, "ready_timeout_seconds", 60, 1, 3600)
        self.with_agent = base.boolean(table, "with_agent", False)
        log_name = base.string(table, "log_file", f"seatunnel-agent-{role}.out")
        if "/" in log_name or log_name.startswith("."):
            raise base.ConfigError("log_file must be a plain file name (it goes under the logs directory)")
        self.log_path = log_dir / log_name
        self.pid_path = state_dir / f"{role}.pid"
        self._child: subprocess.Popen[bytes] | None = None  # set when this agent process started it

    # -- the pid file and liveness ------------------------------------------------------------------

    def _record(self) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self.pid_path.read_text())
            return record
        except (FileNotFoundError, ValueError):
            return None

    def _alive(self, record: dict[str, Any]) -> bool:
        pid = int(record["pid"])
        if self._child is not None and self._child.pid == pid:
            return self._child.poll() is None  # reaps our own child when it ended
        return _start_ticks(pid) == record.get("start_ticks") and _proc_state(pid) not in (None, "Z", "X")

    def status(self) -> ServiceStatus:
        record = self._record()
        if record is None:
            return ServiceStatus(base.STOPPED)
        pid = int(record["pid"])
        if self._alive(record):
            return ServiceStatus(base.RUNNING, pid, {"started_at": record.get("started_at")})
        detail: dict[str, Any] = {"started_at": record.get("started_at"), "exited": True}
        if self._child is not None and self._child.pid == pid:
            detail["exit_code"] = self._child.returncode
        return ServiceStatus(base.FAILED, pid, detail)

    def jvm_pid(self) -> int | None:
        status = self.status()
        if status.state != base.RUNNING or status.pid is None:
            return None
        return status.pid if base.is_java(status.pid) else base.java_in_group(status.pid)

    # -- start / stop -------------------------------------------------------------------------------

    def start(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        with self.lock:
            current = self.status()
            if current.state == base.RUNNING:
                return {"status": current.to_json(), "already_running": True}
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, **self.env}
            with open(self.log_path, "ab") as log:
                log.write(f"--- {now_iso()} started by seatunnel-agent: {' '.join(self.command)}\n".encode())
                log.flush()
                try:
                    child = subprocess.Popen(  # noqa: S603 - argv from the agent's own config, no shell
                        self.command,
                        cwd=self.cwd,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group: stop signals reach its children too
                        close_fds=True,
                    )
                except OSError as error:
                    raise ManagerError(base.COMMAND_FAILED, f"cannot start {self.command[0]}: {error}") from None
            self._child = child
            record = {
                "pid": child.pid,
                "start_ticks": _start_ticks(child.pid),
                "started_at": now_iso(),
                "command": self.command,
            }
            write_atomic(self.pid_path, json.dumps(record).encode())
            self._wait_ready(child, min(timeout, self.ready_timeout), cancel)
            return {"status": self.status().to_json()}

    def _wait_ready(self, child: subprocess.Popen[bytes], timeout: float, cancel: threading.Event | None) -> None:
        if self.ready_url is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            if cancel is not None and cancel.is_set():
                raise ManagerError(base.CANCELLED, "cancelled while waiting for the service to be ready")
            if child.poll() is not None:
                raise ManagerError(
                    base.NOT_READY, f"the service exited with {child.returncode} before it was ready", self._log_tail()
                )
            try:
                if httpx.get(self.ready_url, timeout=2.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ManagerError(
                    base.NOT_READY, f"{self.ready_url} did not answer in {timeout:g} s", self._log_tail()
                )
            time.sleep(0.2)

    def stop(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        with self.lock:
            record = self._record()
            if record is None:
                return {"status": ServiceStatus(base.STOPPED).to_json(), "already_stopped": True}
            pid = int(record["pid"])
            how = "not running"
            if self._alive(record):
                how = "SIGTERM"
                _signal_group(pid, signal.SIGTERM)
                if not self._wait_gone(record, min(timeout, self.stop_timeout)):
                    how = "SIGKILL"
                    _signal_group(pid, signal.SIGKILL)
                    if not self._wait_gone(record, 10):
                        raise ManagerError(base.TIMEOUT, f"pid {pid} survived SIGKILL")
            # Survivors in the group (a start script's children) go too.
            _signal_group(pid, signal.SIGKILL)
            self.pid_path.unlink(missing_ok=True)
            self._child = None
            return {"status": ServiceStatus(base.STOPPED).to_json(), "stopped_pid": pid, "stopped_with": how}

    def restart(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        with self.lock:
            stopped = self.stop(timeout)
            if cancel is not None and cancel.is_set():
                raise ManagerError(base.CANCELLED, "cancelled after the stop, before the start")
            started = self.start(timeout, cancel)
            return {**started, "previous_pid": stopped.get("stopped_pid")}

    def _wait_gone(self, record: dict[str, Any], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._alive(record):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _log_tail(self, size: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
                return handle.read().decode(errors="replace")
        except OSError:
            return ""


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the child leads its own group (start_new_session), so pgid == pid
    except (ProcessLookupError, PermissionError):
        pass


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the command name may contain spaces and parentheses


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # field 22 of stat: start time in clock ticks since boot


def _proc_state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None
