"""The service-manager interface: start, stop, restart and status of the SeaTunnel service (or worker role).

Four implementations (docs/AGENT.md): systemd, compose, kubernetes (each runs its tool with a fixed argv,
never through a shell) and process (a plain supervisor). Failures are `ManagerError`s with a stable code
and the tool's output, which the action reports.
"""

from __future__ import annotations

import os
import subprocess
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import ConfigError as ConfigError  # re-exported: managers raise base.ConfigError

# Service states, the same words for every manager.
RUNNING = "running"
STOPPED = "stopped"
STARTING = "starting"
STOPPING = "stopping"
FAILED = "failed"
UNKNOWN = "unknown"

TOOL_MISSING = "AGENT_SERVICE_TOOL_MISSING"
COMMAND_FAILED = "AGENT_SERVICE_COMMAND_FAILED"
TIMEOUT = "AGENT_SERVICE_TIMEOUT"
NOT_READY = "AGENT_SERVICE_NOT_READY"
CANCELLED = "AGENT_ACTION_CANCELLED"


class ManagerError(Exception):
    def __init__(self, code: str, message: str, output: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.output = output


@dataclass(frozen=True)
class ServiceStatus:
    state: str
    pid: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "pid": self.pid, **self.detail}


class ServiceManager(ABC):
    kind: str = ""
    # The agent starts the service when it starts and stops it when it stops (the process manager's
    # `with_agent`, for development and the demo); otherwise the service outlives the agent.
    with_agent: bool = False

    def __init__(self) -> None:
        self.lock = threading.RLock()  # one start/stop/restart at a time per managed service

    @abstractmethod
    def start(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def stop(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def restart(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def status(self) -> ServiceStatus: ...

    def jvm_pid(self) -> int | None:
        """A local JVM's pid for jstack/jcmd, when this manager knows one on this host."""
        return None


def run_tool(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a manager's tool; a missing tool, a timeout or a non-zero exit is a ManagerError."""
    try:
        completed = subprocess.run(  # noqa: S603 - argv built from validated config, never a shell
            argv, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL, check=False
        )
    except FileNotFoundError:
        raise ManagerError(TOOL_MISSING, f"{argv[0]} not found") from None
    except subprocess.TimeoutExpired as error:
        output = _text(error.stdout) + _text(error.stderr)
        raise ManagerError(TIMEOUT, f"{' '.join(argv)} did not finish in {timeout:g} s", output) from None
    if completed.returncode != 0:
        output = (completed.stdout or "") + (completed.stderr or "")
        raise ManagerError(
            COMMAND_FAILED, f"{' '.join(argv)} exited with {completed.returncode}: {output.strip()[-500:]}", output
        )
    return completed


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def is_java(pid: int) -> bool:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("java")
    except OSError:
        return False


def java_in_group(pgid: int) -> int | None:
    """The first Java process in a process group (a start script's JVM child, say)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and is_java(int(entry.name)):
            return int(entry.name)
    return None


# -- config helpers shared by the managers ---------------------------------------------------------


def known_keys(table: dict[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known | {"manager"}:
            raise ConfigError(f"unknown key {key!r} for this manager")


def string(table: dict[str, Any], key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string" + ("" if key in table else " (required)"))
    return value.strip()


def integer(table: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{key} must be an integer from {low} to {high}, got {value!r}")
    return value


def boolean(table: dict[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false")
    return value
