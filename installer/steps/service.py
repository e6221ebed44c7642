"""The service definition and its start/stop, per deployment form.

The `process` form: the engine's `bin/seatunnel-cluster.sh` (through the `current` link, so the definition
outlives upgrades) runs in the foreground as a child in its own process group, supervised by the agent's
`ProcessManager` (agent/managers/process.py: pid file with the process's start time, SIGTERM to the group,
SIGKILL after the timeout), with its output in `<prefix>/logs/`.

The `systemd` form: `installer.forms.systemd` renders the role's unit from the spec (`installer.deployment`);
`define` writes it into the unit directory (`--unit-dir`, default /etc/systemd/system) atomically and only when
it changed, then `systemctl daemon-reload`; start/stop/status go through the agent's `SystemdManager`
(`systemctl enable` + `start`, `stop`, `show`). Preflight probes systemd first (`check_tools`): without a
working `systemctl` nothing is changed.

Either way the definition is `<prefix>/.installer/service.json`. The compose and k8s forms describe a whole
cluster, not this node's service: they have no definition here (installer/cluster_forms.py installs them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.managers import base as manager_base
from agent.managers.base import ManagerError, ServiceManager
from agent.managers.process import ProcessManager
from agent.managers.systemd import SystemdManager
from installer import errors, fsutil
from installer.deployment import STOP_TIMEOUT_SECONDS, to_deployment
from installer.errors import InstallerError
from installer.forms import render as forms_render
from installer.spec import InstallSpec, Layout
from installer.steps import Context

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
# systemctl stop waits for the unit's TimeoutStopSec (SIGTERM, then SIGKILL); a little longer than that.
SYSTEMD_STOP_TIMEOUT = float(STOP_TIMEOUT_SECONDS + 30)

# A renderer turns a spec into the form's files: {path relative to where the form writes them: text}.
FormRenderer = Callable[[InstallSpec], dict[str, str]]


def form_renderer(form: str) -> FormRenderer:
    """`installer.forms`' renderer for `form`, fed by the one spec mapping (`installer.deployment`). The process
    form writes no deployment files."""
    if form not in forms_render.FORMS:
        raise InstallerError(
            errors.FORM_NOT_AVAILABLE,
            f"The {form} form has no deployment files.",
            f"Use one of {', '.join(forms_render.FORMS)}.",
            form=form,
        )
    return lambda spec: forms_render.render(to_deployment(spec), form)


def cluster_argv(spec: InstallSpec, layout: Layout) -> list[str]:
    """`seatunnel-cluster.sh` in the foreground; `-r` only for master or worker (ZETA_FACTS §4.3: hybrid must
    omit it, `-r master_and_worker` fails in Java)."""
    argv = [str(layout.current / "bin" / "seatunnel-cluster.sh")]
    if spec.role in ("master", "worker"):
        argv += ["-r", spec.role]
    return argv


def unit_files(spec: InstallSpec) -> dict[Path, bytes]:
    """The systemd form's unit files by their path in the unit directory."""
    files = form_renderer("systemd")(spec)
    return {Path(spec.unit_dir) / name: text.encode() for name, text in files.items()}


def definition(spec: InstallSpec, layout: Layout) -> dict[str, Any]:
    if spec.form == "systemd":
        units = sorted(path.name for path in unit_files(spec))
        return {"form": "systemd", "role": spec.role, "unit_dir": spec.unit_dir, "units": units, "unit": units[0]}
    if spec.form != "process":
        raise InstallerError(
            errors.FORM_NOT_AVAILABLE,
            f"The {spec.form} form describes a whole cluster: it has no service definition on this node.",
            "Use --form process or --form systemd for this node's service.",
            form=spec.form,
        )
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


def check_tools(spec: InstallSpec) -> dict[str, Any]:
    """Preflight for the form's service tool, changing nothing: systemd must answer through systemctl, and the
    unit directory must be writable. The process form needs nothing."""
    if spec.form != "systemd":
        return {}
    systemd = SystemdManager({"unit": "seatunnel.service"})
    try:
        version = systemd.probe()
    except ManagerError as error:
        missing = error.code == manager_base.TOOL_MISSING
        raise InstallerError(
            errors.SYSTEMD_UNAVAILABLE,
            "The systemd form needs systemctl and a running systemd: "
            + ("systemctl is not installed." if missing else f"systemctl does not answer ({error.message})."),
            "Install with --form process (the installer supervises the engine itself), or on a host whose init "
            "is systemd. Nothing was changed.",
            output=error.output[-500:],
        ) from None
    unit_dir = Path(spec.unit_dir)
    writable = fsutil.existing_ancestor(unit_dir)
    if not os.access(writable, os.W_OK):
        raise InstallerError(
            errors.NOT_WRITABLE,
            f"The unit directory {unit_dir} is not writable by this user.",
            "Run as root, or pass --unit-dir to a directory systemd reads that you may write.",
        )
    return {"systemd": version, "unit_dir": str(unit_dir)}


def _systemd(service: dict[str, Any]) -> SystemdManager:
    return SystemdManager({"unit": service["unit"]})


def _pending_reload(layout: Layout) -> Path:
    # Written before unit files change, removed after the daemon-reload: a run cut off in between reloads on
    # its resume, though it then finds the files unchanged.
    return layout.state_dir / "daemon-reload-pending"


def _daemon_reload(layout: Layout, systemd: SystemdManager) -> None:
    try:
        systemd.daemon_reload()
    except ManagerError as error:
        raise InstallerError(
            errors.SERVICE_FAILED, f"systemctl daemon-reload failed: {error.message}.", "See systemctl's output."
        ) from None
    _pending_reload(layout).unlink(missing_ok=True)


def define(ctx: Context) -> dict[str, Any]:
    wanted = definition(ctx.spec, ctx.layout)
    result: dict[str, Any] = {"path": str(ctx.layout.service_file)}
    if wanted["form"] == "systemd":
        pending = _pending_reload(ctx.layout)
        changed, created = [], []
        for path, data in unit_files(ctx.spec).items():
            if path.is_file() and path.read_bytes() == data:
                continue
            if not path.exists():
                created.append(path)
            fsutil.write_atomic(pending, b"")
            fsutil.write_atomic(path, data, mode=0o644)
            changed.append(str(path))
        reload = pending.exists()
        if reload:
            try:
                _daemon_reload(ctx.layout, _systemd(wanted))
            except InstallerError:
                for path in created:  # systemd never loaded them: leave no new unit behind
                    path.unlink(missing_ok=True)
                raise
        result.update(units=[str(Path(wanted["unit_dir"]) / u) for u in wanted["units"]], changed=changed)
        result["daemon_reload"] = reload
    data = json.dumps(wanted, indent=2).encode()
    path = ctx.layout.service_file
    if path.exists() and path.read_bytes() == data and not result.get("changed"):
        return {**result, "already": True}
    fsutil.write_atomic(path, data, mode=0o600)
    return result


def undefine(layout: Layout) -> dict[str, Any]:
    """Remove the service definition: for systemd, disable the unit, remove its file(s), daemon-reload. The
    service is stopped first by the caller."""
    service = load(layout)
    removed: list[str] = []
    if service is not None and service["form"] == "systemd":
        systemd = _systemd(service)
        try:
            systemd.disable()
        except ManagerError as error:
            raise InstallerError(
                errors.SERVICE_FAILED, f"systemctl disable failed: {error.message}.", "Disable the unit by hand."
            ) from None
        for name in service["units"]:
            path = Path(service["unit_dir"]) / name
            if path.exists():
                fsutil.write_atomic(_pending_reload(layout), b"")
                path.unlink()
                removed.append(str(path))
        if removed or _pending_reload(layout).exists():
            _daemon_reload(layout, systemd)
    layout.service_file.unlink(missing_ok=True)
    return {"removed": removed}


def load(layout: Layout) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(layout.service_file.read_text())
        return data
    except FileNotFoundError:
        return None


def manager(layout: Layout, service: dict[str, Any] | None = None) -> ServiceManager | None:
    service = service if service is not None else load(layout)
    if service is None:
        return None
    if service["form"] == "systemd":
        return _systemd(service)
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
    service = load(ctx.layout)
    found = manager(ctx.layout, service)
    if service is None or found is None:
        raise InstallerError(errors.SERVICE_FAILED, "No service is defined on this node.", "Run install first.")
    if isinstance(found, SystemdManager):
        return _start_unit(found)
    ctx.layout.run_dir.mkdir(parents=True, exist_ok=True)  # the pid file's directory
    try:
        result = found.start(START_TIMEOUT)
    except ManagerError as error:
        raise InstallerError(
            errors.SERVICE_FAILED, f"The engine did not start: {error.message}.", "See the log under logs/."
        ) from None
    return {"pid": result["status"]["pid"], "already": bool(result.get("already_running"))}


def _start_unit(systemd: SystemdManager) -> dict[str, Any]:
    already = systemd.status().state == manager_base.RUNNING
    try:
        systemd.enable()  # started at boot too
        status = systemd.start(START_TIMEOUT)["status"]
    except ManagerError as error:
        raise InstallerError(
            errors.SERVICE_FAILED,
            f"{systemd.unit} did not start: {error.message}.",
            f"See `systemctl status {systemd.unit}` and `journalctl -u {systemd.unit}`.",
        ) from None
    if status["state"] == manager_base.FAILED:
        # Type=simple: `start` returns once the process is forked, so an engine that dies at once shows here or in
        # the health step, whichever looks first. The same failure either way: the engine did not come up.
        raise InstallerError(
            errors.HEALTH_FAILED,
            f"The engine exited before it was healthy ({systemd.unit} failed right after its start: "
            f"{status.get('sub_state')}).",
            f"See `journalctl -u {systemd.unit}`.",
        )
    return {"unit": systemd.unit, "pid": status["pid"], "state": status["state"], "already": already}


def stop(layout: Layout) -> dict[str, Any]:
    found = manager(layout)
    if found is None:
        return {"already": True}
    if isinstance(found, SystemdManager):
        before = found.status()
        if before.state == manager_base.UNKNOWN and "not found" in str(before.detail.get("error", "")):
            return {"unit": found.unit, "already": True}
        try:
            found.stop(SYSTEMD_STOP_TIMEOUT)
        except ManagerError as error:
            raise InstallerError(
                errors.SERVICE_FAILED, f"{found.unit} did not stop: {error.message}.", "Stop it by hand and run again."
            ) from None
        return {"unit": found.unit, "stopped_pid": before.pid, "already": before.state == manager_base.STOPPED}
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
        return ""  # systemd: the script's output is in the journal (journalctl -u <unit>)
    path = layout.logs / service["log_file"]
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
