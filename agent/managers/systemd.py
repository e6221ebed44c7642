"""systemd: `systemctl start|stop|restart <unit>` and `systemctl show` for the state; for the installer also
`daemon-reload`, `enable`/`disable` and a probe that systemd runs at all (`show --property=Version`).

Not run against a real systemd here (the development machine has none running); tests drive a fake
`systemctl` on PATH that records its argv, which pins the exact command lines.
"""

from __future__ import annotations

import threading
from typing import Any

from agent.managers import base
from agent.managers.base import ServiceManager, ServiceStatus

# ActiveState -> our state words
_STATES = {
    "active": base.RUNNING,
    "reloading": base.RUNNING,
    "inactive": base.STOPPED,
    "failed": base.FAILED,
    "activating": base.STARTING,
    "deactivating": base.STOPPING,
}


class SystemdManager(ServiceManager):
    kind = "systemd"

    def __init__(self, table: dict[str, Any]) -> None:
        super().__init__()
        base.known_keys(table, {"unit", "scope", "sudo", "systemctl"})
        self.unit = base.string(table, "unit")
        self.scope = base.string(table, "scope", "system")
        if self.scope not in ("system", "user"):
            raise base.ConfigError("scope must be 'system' or 'user'")
        self.sudo = base.boolean(table, "sudo", False)
        self.systemctl = base.string(table, "systemctl", "systemctl")

    def _argv(self, *args: str) -> list[str]:
        argv = [self.systemctl]
        if self.scope == "user":
            argv.append("--user")
        argv += ["--no-ask-password", *args]
        # sudo -n: never prompt; the sudoers rule should allow exactly these systemctl lines (docs/AGENT.md).
        return ["sudo", "-n", *argv] if self.sudo else argv

    def start(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("start", self.unit), timeout)
        return {"status": self.status().to_json()}

    def stop(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("stop", self.unit), timeout)
        return {"status": self.status().to_json()}

    def restart(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("restart", self.unit), timeout)
        return {"status": self.status().to_json()}

    def probe(self, timeout: float = 15) -> str:
        """systemd's version, from the manager's own properties (`systemctl show --property=Version`, no unit).
        A ManagerError when systemctl is missing (TOOL_MISSING) or no systemd answers (COMMAND_FAILED with
        systemctl's words, e.g. "System has not been booted with systemd as init system (PID 1)")."""
        shown = base.run_tool(self._argv("show", "--property=Version"), timeout).stdout
        values = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        return values.get("Version", "").strip() or "unknown"

    def daemon_reload(self, timeout: float = 60) -> None:
        """Make systemd read changed unit files (a start after a change without it runs the old definition)."""
        base.run_tool(self._argv("daemon-reload"), timeout)

    def enable(self, timeout: float = 60) -> None:
        base.run_tool(self._argv("enable", self.unit), timeout)

    def disable(self, timeout: float = 60) -> None:
        base.run_tool(self._argv("disable", self.unit), timeout)

    def status(self) -> ServiceStatus:
        try:
            shown = base.run_tool(
                self._argv("show", self.unit, "--property=LoadState,ActiveState,SubState,MainPID"), 15
            ).stdout
        except base.ManagerError as error:
            return ServiceStatus(base.UNKNOWN, detail={"error": error.message})
        values = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        if values.get("LoadState") == "not-found":
            return ServiceStatus(base.UNKNOWN, detail={"error": f"unit {self.unit} not found"})
        pid = int(values.get("MainPID", "0") or 0) or None
        state = _STATES.get(values.get("ActiveState", ""), base.UNKNOWN)
        return ServiceStatus(
            state, pid, {"active_state": values.get("ActiveState"), "sub_state": values.get("SubState")}
        )

    def jvm_pid(self) -> int | None:
        pid = self.status().pid
        if pid is None:
            return None
        return pid if base.is_java(pid) else base.java_in_group(pid)
