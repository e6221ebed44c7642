"""The service definition and its start/stop, per deployment form.

The `process` form is complete here: the engine's `bin/seatunnel-cluster.sh` (through the `current` link, so
the definition outlives upgrades) runs in the foreground as a child in its own process group, supervised by
the agent's `ProcessManager` (agent/managers/process.py: pid file with the process's start time, SIGTERM to
the group, SIGKILL after the timeout), with its output in `<prefix>/logs/`. The definition is
`<prefix>/.installer/service.json`.

The systemd, compose and Kubernetes forms are rendered by `installer.forms` (built separately). Their single
seam is `form_renderer(form)` below: until it is wired it raises INSTALLER_FORM_NOT_AVAILABLE.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from agent.managers import base as manager_base
from agent.managers.base import ManagerError
from agent.managers.process import ProcessManager
from installer import errors, fsutil
from installer.errors import InstallerError
from installer.spec import InstallSpec, Layout
from installer.steps import Context

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0

# A renderer turns (spec, layout) into {path under the prefix or absolute: file bytes} plus the commands that
# would enable/start it; `installer.forms` provides one per form.
FormRenderer = Callable[[InstallSpec, Layout], dict[str, Any]]


def form_renderer(form: str) -> FormRenderer:
    """THE SEAM for the systemd, compose and k8s forms: return `installer.forms`' renderer for `form`.

    Not wired yet: `installer.forms` is being built beside this core. Wiring it means importing it here and
    returning its renderer; `define`, `start` and `stop` below then call it for those forms."""
    raise InstallerError(
        errors.FORM_NOT_AVAILABLE,
        f"The {form} form is not available in this installer build yet.",
        "Use --form process for now (the engine runs as a supervised child process).",
        form=form,
    )


def cluster_argv(spec: InstallSpec, layout: Layout) -> list[str]:
    """`seatunnel-cluster.sh` in the foreground; `-r` only for master or worker (ZETA_FACTS §4.3: hybrid must
    omit it, `-r master_and_worker` fails in Java)."""
    argv = [str(layout.current / "bin" / "seatunnel-cluster.sh")]
    if spec.role in ("master", "worker"):
        argv += ["-r", spec.role]
    return argv


def definition(spec: InstallSpec, layout: Layout) -> dict[str, Any]:
    if spec.form != "process":
        return {"form": spec.form, **form_renderer(spec.form)(spec, layout)}
    env = {"SEATUNNEL_HOME": str(layout.current)}
    java_home = spec.java_home or os.environ.get("JAVA_HOME")
    if java_home:
        env["JAVA_HOME"] = java_home
    return {
        "form": "process",
        "role": spec.role,
        "command": cluster_argv(spec, layout),
        "cwd": str(layout.current),
        "env": env,
        "log_file": f"seatunnel-engine-{spec.role}.out",
        "stop_timeout_seconds": int(STOP_TIMEOUT),
    }


def define(ctx: Context) -> dict[str, Any]:
    wanted = definition(ctx.spec, ctx.layout)
    path = ctx.layout.service_file
    data = json.dumps(wanted, indent=2).encode()
    if path.exists() and path.read_bytes() == data:
        return {"path": str(path), "already": True}
    fsutil.write_atomic(path, data, mode=0o600)
    return {"path": str(path)}


def load(layout: Layout) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(layout.service_file.read_text())
        return data
    except FileNotFoundError:
        return None


def manager(layout: Layout, service: dict[str, Any] | None = None) -> ProcessManager | None:
    service = service if service is not None else load(layout)
    if service is None:
        return None
    if service["form"] != "process":
        form_renderer(service["form"])
    table = {k: service[k] for k in ("command", "cwd", "env", "log_file", "stop_timeout_seconds")}
    return ProcessManager(table, state_dir=layout.run_dir, log_dir=layout.logs, role=service["role"])


def running_pid(layout: Layout) -> int | None:
    try:
        found = manager(layout)
    except InstallerError:
        return None
    if found is None:
        return None
    status = found.status()
    return status.pid if status.state == manager_base.RUNNING else None


def start(ctx: Context) -> dict[str, Any]:
    found = manager(ctx.layout)
    if found is None:
        raise InstallerError(errors.SERVICE_FAILED, "No service is defined on this node.", "Run install first.")
    ctx.layout.run_dir.mkdir(parents=True, exist_ok=True)  # the pid file's directory
    try:
        result = found.start(START_TIMEOUT)
    except ManagerError as error:
        raise InstallerError(
            errors.SERVICE_FAILED, f"The engine did not start: {error.message}.", "See the log under logs/."
        ) from None
    return {"pid": result["status"]["pid"], "already": bool(result.get("already_running"))}


def stop(layout: Layout) -> dict[str, Any]:
    found = manager(layout)
    if found is None:
        return {"already": True}
    try:
        result = found.stop(STOP_TIMEOUT)
    except ManagerError as error:
        raise InstallerError(
            errors.SERVICE_FAILED, f"The engine did not stop: {error.message}.", "Stop it by hand and run again."
        ) from None
    return {"stopped_pid": result.get("stopped_pid"), "already": bool(result.get("already_stopped"))}


def log_tail(layout: Layout, size: int = 2000) -> str:
    service = load(layout)
    if service is None or service.get("form") != "process":
        return ""
    path = layout.logs / service["log_file"]
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
