"""docker compose: `docker compose -f FILE [-p PROJECT] up -d|stop|restart SERVICE` and `ps` for the state.

Not run against a real Docker engine here (none on the development machine); tests drive a fake
`docker` on PATH that records its argv and answers like `docker compose ps --format json`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from agent.managers import base
from agent.managers.base import ServiceManager, ServiceStatus

_STATES = {
    "running": base.RUNNING,
    "restarting": base.STARTING,
    "created": base.STOPPED,
    "exited": base.STOPPED,
    "paused": base.STOPPED,
    "removing": base.STOPPING,
    "dead": base.FAILED,
}


class ComposeManager(ServiceManager):
    kind = "compose"

    def __init__(self, table: dict[str, Any]) -> None:
        super().__init__()
        base.known_keys(table, {"file", "service", "project", "docker"})
        self.file = base.string(table, "file")
        self.service = base.string(table, "service")
        self.project = table.get("project")
        if self.project is not None:
            self.project = base.string(table, "project")
        self.docker = base.string(table, "docker", "docker")

    def _argv(self, *args: str) -> list[str]:
        argv = [self.docker, "compose", "-f", self.file]
        if self.project:
            argv += ["-p", self.project]
        return [*argv, *args]

    def start(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        # `up -d --no-deps` also creates a container that was removed; `start` would fail on it.
        base.run_tool(self._argv("up", "-d", "--no-deps", self.service), timeout)
        return {"status": self.status().to_json()}

    def stop(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("stop", "-t", str(int(timeout)), self.service), timeout + 15)
        return {"status": self.status().to_json()}

    def restart(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("restart", "-t", str(int(timeout)), self.service), timeout + 15)
        return {"status": self.status().to_json()}

    def status(self) -> ServiceStatus:
        try:
            out = base.run_tool(self._argv("ps", "--all", "--format", "json", self.service), 15).stdout
        except base.ManagerError as error:
            return ServiceStatus(base.UNKNOWN, detail={"error": error.message})
        containers = _parse_ps(out)
        if not containers:
            return ServiceStatus(base.STOPPED, detail={"containers": 0})
        first = containers[0]
        state = _STATES.get(str(first.get("State", "")).lower(), base.UNKNOWN)
        if state == base.STOPPED and str(first.get("State", "")).lower() == "exited" and first.get("ExitCode"):
            state = base.FAILED
        return ServiceStatus(
            state,
            detail={
                "container": first.get("Name"),
                "container_state": first.get("State"),
                "health": first.get("Health") or None,
                "containers": len(containers),
            },
        )


def _parse_ps(out: str) -> list[dict[str, Any]]:
    """Compose before 2.21 prints one JSON array; later versions one JSON object per line."""
    text = out.strip()
    if not text:
        return []
    try:
        parsed = json.loads(text)
        return parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
