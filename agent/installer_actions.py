"""The installer's actions (`installer.*`, docs/AGENT_PROTOCOL.md): the installer core (`installer/`) run by the
agent on its node, with typed params and the node's own policy on top of the shared schema:

- the prefix must lie inside the agent's `[installer] root` (resolved, links followed): a signed request cannot
  install over /etc or remove /home; no root configured means no installer action runs (AGENT_NOT_CONFIGURED);
- a local tarball (`source` a path) must lie under one of `[installer] sources`; an http(s) source or mirror
  must pass the agent's outbound policy (`[outbound]`), as every URL an action names does.

Each action returns the core's result and the facts the node gathered after it (`facts`: hostname, engine
version, role, REST endpoint, member address, Java version, CPUs, memory, disk), which the control plane
registers the node with. The core's steps become the action's progress messages. An action runs as long as the
core needs: the agent has no action timeout (a handler runs to its end in the pool; the control plane's expiry
only applies to an action not yet started), and the core bounds its own waits (`health_timeout_seconds`, at most
3600 in the schema; downloads resume, and stall out by themselves). A cancel is honoured between steps, up to the
switch (``CANCELLABLE_BEFORE``): the node is left as it was, and the next run starts afresh (downloads resume).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent import facts
from agent.handlers import NOT_CONFIGURED, ActionFailed, Cancelled, Context, Handler
from agent.outbound import FORBIDDEN, OutboundForbidden
from installer import plan, run
from installer.errors import InstallerError
from installer.progress import Reporter
from installer.spec import InstallSpec, Layout, parse_members
from installer.steps import health, preflight, switch

OUTSIDE_ROOT = "AGENT_PATH_OUTSIDE_INSTALL_ROOT"
SOURCE_NOT_ALLOWED = "AGENT_SOURCE_NOT_ALLOWED"

# The steps of an install or upgrade in order, for a percentage (the core reports names, not fractions).
_STEP_ORDER = (
    "preflight", "fetch", "verify", "unpack", "connectors", "carry_over", "configure", "backup", "before_switch",
    "stop_old", "service", "switch", "start", "health", "record", "after_switch",
)  # fmt: skip


# A cancel stops an install or upgrade before one of these steps starts: up to here nothing on the node is live (the
# new version is unpacked and configured beside the running one, which still runs). From `before_switch` on (the
# old engine is stopped, `current` switched) the run goes to its end, or to its own rollback.
CANCELLABLE_BEFORE = frozenset(
    {"preflight", "fetch", "verify", "unpack", "connectors", "carry_over", "configure", "backup", "before_switch"}
)


class ActionReporter(Reporter):
    """The core's step reports as the action's progress (and a line of output each); a cancel asked for meanwhile
    ends the run before the next step that may start before the switch (``CANCELLABLE_BEFORE``)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def step(self, name: str, state: str, detail: dict[str, Any] | None = None) -> None:
        if state == "started" and name in CANCELLABLE_BEFORE and self.ctx.cancelled():
            self.ctx.output(f"{name}: not started (cancelled)\n")
            raise Cancelled()
        index = _STEP_ORDER.index(name) if name in _STEP_ORDER else None
        percent = None if index is None else int(100 * (index + (state != "started")) / len(_STEP_ORDER))
        self.ctx.progress(f"{name}: {state}", percent)
        self.ctx.output(f"{name}: {state}\n")

    def progress(self, name: str, done: int, total: int | None) -> None:
        if total:
            self.ctx.progress(f"{name}: {done} of {total} bytes")

    def note(self, text: str) -> None:
        self.ctx.output(f"note: {text}\n")


def _inside(path: Path, root: Path) -> bool:
    real, base = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    return base in real.parents


def _prefix(ctx: Context) -> Path:
    root = ctx.config.install_root
    if root is None:
        raise ActionFailed(NOT_CONFIGURED, "this agent's config names no [installer] root: it installs nothing")
    prefix = Path(ctx.params["prefix"])
    if not _inside(prefix, root):
        raise ActionFailed(
            OUTSIDE_ROOT, f"the prefix {str(prefix)!r} is not inside this agent's install root {str(root)!r}"
        )
    return Path(os.path.realpath(prefix))


def _check_url(ctx: Context, url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ActionFailed(SOURCE_NOT_ALLOWED, f"{name} must be an http(s) URL")
    try:
        ctx.config.outbound.resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OutboundForbidden as error:
        raise ActionFailed(FORBIDDEN, f"{name}: {error}") from None
    except OSError as error:
        raise ActionFailed(
            SOURCE_NOT_ALLOWED, f"{name}: the host {parts.hostname!r} does not resolve: {error}"
        ) from None


def _check_source(ctx: Context) -> None:
    source = ctx.params.get("source")
    if source is not None:
        if source.startswith(("http://", "https://")):
            _check_url(ctx, source, "source")
        elif not any(_inside(Path(source), allowed) for allowed in ctx.config.install_sources):
            raise ActionFailed(
                SOURCE_NOT_ALLOWED,
                f"the source file {source!r} is not under a directory this agent's [installer] sources allow",
            )
    if ctx.params.get("mirror"):
        _check_url(ctx, ctx.params["mirror"], "mirror")


def _advertised_host(ctx: Context) -> str:
    if ctx.params.get("host"):
        return str(ctx.params["host"])
    if ctx.config.member_address:
        return ctx.config.member_address.rpartition(":")[0].strip("[]")
    return socket.gethostname()


_SPEC_PARAMS = ("version", "source", "mirror", "sha512", "role", "form", "cluster_name", "member_port", "http_port")


def _spec_fields(ctx: Context) -> dict[str, Any]:
    """The spec fields the params give (only those given: an upgrade keeps the installed spec's others)."""
    params = ctx.params
    fields: dict[str, Any] = {name: params[name] for name in _SPEC_PARAMS if params.get(name) is not None}
    if params.get("members"):
        fields["members"] = parse_members(params["members"])
    if params.get("heap"):
        fields["heap"] = params["heap"]
    if "expected_members" in params:
        fields["expected_members"] = params["expected_members"]
    if "health_timeout_seconds" in params:
        fields["health_timeout"] = float(params["health_timeout_seconds"])
    if ctx.config.install_java_home:
        fields["java_home"] = ctx.config.install_java_home
    return fields


def _spec(ctx: Context, prefix: Path, *, inherit: bool) -> InstallSpec:
    fields = _spec_fields(ctx)
    if inherit:
        installed = switch.load_node(Layout(prefix))
        current = installed.get("current")
        if current and current in installed.get("specs", {}):
            base = dict(installed["specs"][current])
            base.update(source=None, sha512=None, version=fields["version"])  # the old tarball's, not the new one's
            return dataclasses.replace(InstallSpec.from_json(base), **fields)
    return InstallSpec(prefix=prefix, **fields)


def _java(java_home: str | None) -> str | None:
    java = preflight.java_binary(java_home)
    if java is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - the installed spec's java, fixed argument
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = ((done.stderr or "") + (done.stdout or "")).strip().splitlines()
    return first[0][:200] if first else None


def node_facts(ctx: Context, prefix: Path) -> dict[str, Any]:
    """What the control plane registers the node with, read on the node after the action: the installed spec (the
    node's role, ports, members), the engine's /overview, the machine."""
    layout = Layout(prefix)
    node = switch.load_node(layout)
    current = layout.current_version()
    spec = InstallSpec.from_json(node["specs"][current]) if current and current in node.get("specs", {}) else None
    host = _advertised_host(ctx)
    total, available = facts.memory()
    disk: dict[str, Any] = {"path": str(prefix), "total_bytes": None, "free_bytes": None}
    probe = next((p for p in (prefix, *prefix.parents) if p.exists()), None)
    if probe is not None:
        usage = shutil.disk_usage(probe)
        disk.update(total_bytes=usage.total, free_bytes=usage.free)
    result: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "host": host,
        "installed_version": current,
        "engine_version": None,
        "role": spec.role if spec else None,
        "form": spec.form if spec else None,
        "cluster_name": spec.cluster_name if spec else None,
        "rest_endpoint": None,
        "member_address": None,
        "members": [str(m) for m in spec.members] if spec else [],
        "java_version": _java(spec.java_home if spec else ctx.config.install_java_home),
        "cpu_count": os.cpu_count(),
        "memory_total_bytes": total,
        "memory_available_bytes": available,
        "disk": disk,
        "prefix": str(prefix),
    }
    if spec is not None:
        scheme, port = ("https", spec.https_port) if spec.https_port is not None else ("http", spec.http_port)
        bracketed = f"[{host}]" if ":" in host else host
        result["rest_endpoint"] = f"{scheme}://{bracketed}:{port}"
        # How the engine lists this member: the agent's configured member_address when it has one (it links the
        # agent to the node), else the Hazelcast address the installer configured.
        result["member_address"] = ctx.config.member_address or f"{bracketed}:{spec.hazelcast_port}"
        try:
            overview = health.get_json(spec, "/overview", timeout=3.0)
            result["engine_version"] = overview.get("projectVersion")
        except (OSError, ValueError):
            result["engine_version"] = None
    return result


def _call(ctx: Context, prefix: Path, body: Any) -> dict[str, Any]:
    """Run one core call; an InstallerError becomes the action's failure with the core's code, message, hint and
    details (and the facts as they are after it: a rolled-back upgrade still says what runs)."""
    try:
        result = body()
    except InstallerError as error:
        data = {"error": error.to_json(), "facts": node_facts(ctx, prefix)}
        raise ActionFailed(error.code, error.message + (f" {error.hint}" if error.hint else ""), data) from None
    return {"result": result, "facts": node_facts(ctx, prefix)}


def installer_install(ctx: Context) -> dict[str, Any]:
    return _install_or_upgrade(ctx, run.install, inherit=False)


def installer_upgrade(ctx: Context) -> dict[str, Any]:
    return _install_or_upgrade(ctx, run.upgrade, inherit=True)


def _install_or_upgrade(ctx: Context, core: Callable[..., Any], *, inherit: bool) -> dict[str, Any]:
    """An install and an upgrade take the same parameters; an upgrade inherits what the node's install chose."""
    prefix = _prefix(ctx)
    _check_source(ctx)
    reporter = ActionReporter(ctx)
    if ctx.params["resume"]:
        return _call(ctx, prefix, lambda: core(_resumed(prefix), reporter=reporter, resume=True))
    return _call(
        ctx, prefix, lambda: core(_spec(ctx, prefix, inherit=inherit), reporter=reporter, force=ctx.params["force"])
    )


def _resumed(prefix: Path) -> InstallSpec:
    from installer.journal import Journal

    record = Journal.load(Layout(prefix).journal)
    if record is None:
        raise ActionFailed("INSTALLER_NOTHING_TO_RESUME", f"there is no journal under {prefix} to resume")
    return InstallSpec.from_json(record.spec)


def installer_plan(ctx: Context) -> dict[str, Any]:
    prefix = _prefix(ctx)
    operation = ctx.params["operation"]

    def body() -> dict[str, Any]:
        if operation == "rollback":
            return plan.plan_rollback(prefix)
        if operation == "uninstall":
            return plan.plan_uninstall(prefix, ctx.params["purge"])
        if not ctx.params.get("version"):
            raise ActionFailed("AGENT_PARAMS_INVALID", f"a plan of an {operation} needs version")
        _check_source(ctx)
        return plan.plan_install(_spec(ctx, prefix, inherit=operation == "upgrade"), operation)

    return _call(ctx, prefix, body)


def installer_rollback(ctx: Context) -> dict[str, Any]:
    prefix = _prefix(ctx)
    return _call(ctx, prefix, lambda: run.rollback(prefix, reporter=ActionReporter(ctx)))


def installer_uninstall(ctx: Context) -> dict[str, Any]:
    prefix = _prefix(ctx)
    return _call(ctx, prefix, lambda: run.uninstall(prefix, purge=ctx.params["purge"], reporter=ActionReporter(ctx)))


def installer_status(ctx: Context) -> dict[str, Any]:
    prefix = _prefix(ctx)
    return _call(ctx, prefix, lambda: run.status(prefix))


HANDLERS: dict[str, Handler] = {
    "installer.plan": installer_plan,
    "installer.install": installer_install,
    "installer.upgrade": installer_upgrade,
    "installer.rollback": installer_rollback,
    "installer.uninstall": installer_uninstall,
    "installer.status": installer_status,
}
