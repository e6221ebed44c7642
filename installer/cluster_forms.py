"""The compose and k8s forms: a whole cluster, described once, not one node's service.

`installer.forms` renders a compose project (masters and workers of the official image on one Docker host) or a
Kustomize directory (two StatefulSets). Neither runs anything of this node's tarball, so none of the node steps
(fetch, verify, unpack, configure, switch) apply: `install --form compose|k8s` renders the files from the spec
(`installer.deployment`), writes those that changed into `<prefix>/deploy/<form>/` (atomically), and applies
them with `docker compose -f … -p … up -d` or `kubectl apply -k …` when the tool is installed and reaches a
Docker engine or a cluster. When it does not, the install stops with INSTALLER_NOT_APPLIED, which says the files
were written and gives the command to apply them by hand: it never reports success for a cluster that was not
asked to start. `plan` shows the files as diffs against that directory and the command, and changes nothing
(`installer.plan.plan_cluster`).

Upgrading is installing the new version (the files change, `up -d` / `apply -k` roll the containers or pods);
removing is `docker compose … down` / `kubectl delete -k …`, by hand (docs/INSTALLER.md, "Forms").
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from agent.managers.base import ManagerError, run_tool
from installer import errors, fsutil
from installer.deployment import to_deployment
from installer.errors import InstallerError
from installer.forms.compose import COMPOSE_FILE
from installer.journal import RunLock
from installer.progress import Reporter
from installer.spec import CLUSTER_FORMS, InstallSpec, Layout
from installer.steps import service

PROBE_TIMEOUT = 20.0
APPLY_TIMEOUT = 600.0  # `up -d` may pull the image first


def deploy_dir(spec: InstallSpec) -> Path:
    return Layout(spec.prefix).prefix / "deploy" / spec.form


def files(spec: InstallSpec) -> dict[Path, bytes]:
    """The form's files by their path under `deploy_dir`."""
    root = deploy_dir(spec)
    return {root / name: text.encode() for name, text in service.form_renderer(spec.form)(spec).items()}


def _compose_tool() -> list[str] | None:
    """`docker compose` (the plugin) when it answers, else the standalone `docker-compose`, else None."""
    if shutil.which("docker"):
        try:
            run_tool(["docker", "compose", "version"], PROBE_TIMEOUT)
            return ["docker", "compose"]
        except ManagerError:
            pass
    return ["docker-compose"] if shutil.which("docker-compose") else None


def apply_command(spec: InstallSpec, tool: list[str] | None = None) -> list[str]:
    root = deploy_dir(spec)
    if spec.form == "compose":
        project = to_deployment(spec).name
        return [*(tool or ["docker", "compose"]), "-f", str(root / COMPOSE_FILE), "-p", project, "up", "-d"]
    return ["kubectl", "apply", "-k", str(root)]


def _by_hand(spec: InstallSpec, tool: list[str] | None) -> str:
    command = " ".join(apply_command(spec, tool))
    if spec.form == "k8s":
        namespace = to_deployment(spec).namespace
        return f"kubectl create namespace {namespace} (once), then {command}"
    return command


def check_tools(spec: InstallSpec, *, written: bool = False) -> dict[str, Any]:
    """The tool is installed and reaches a Docker engine / a Kubernetes cluster; returns the argv to apply with.
    Changes nothing. Raises INSTALLER_NOT_APPLIED naming what is missing (`written`: the files are on disk)."""
    if spec.form == "compose":
        tool = _compose_tool()
        if tool is None:
            raise _not_applied(spec, "neither `docker compose` nor `docker-compose` is installed", None, written)
        if shutil.which("docker"):
            try:
                engine = run_tool(["docker", "info", "--format", "{{.ServerVersion}}"], PROBE_TIMEOUT).stdout.strip()
            except ManagerError as error:
                raise _not_applied(spec, f"no Docker engine answers ({error.message})", tool, written) from None
        else:
            engine = "not probed (no docker CLI; docker-compose talks to the engine itself)"
        return {"tool": tool, "engine": engine, "command": apply_command(spec, tool)}
    if not shutil.which("kubectl"):
        raise _not_applied(spec, "kubectl is not installed", None, written)
    try:
        run_tool(["kubectl", "version", "--request-timeout=15s", "-o", "json"], PROBE_TIMEOUT)
    except ManagerError as error:
        raise _not_applied(spec, f"kubectl reaches no cluster ({error.message})", None, written) from None
    return {"tool": ["kubectl"], "command": apply_command(spec)}


def _not_applied(spec: InstallSpec, why: str, tool: list[str] | None, written: bool) -> InstallerError:
    root = deploy_dir(spec)
    where = "The files are written in" if written else "An install writes the files into"
    return InstallerError(
        errors.NOT_APPLIED,
        f"The {spec.form} files are not applied: {why}.",
        f"{where} {root}; apply them by hand where the tool reaches the "
        f"{'Docker engine' if spec.form == 'compose' else 'cluster'}: {_by_hand(spec, tool)}",
        directory=str(root),
        written=written,
    )


def _check(spec: InstallSpec) -> None:
    if spec.form not in CLUSTER_FORMS:
        raise InstallerError(errors.BAD_SPEC, f"{spec.form} is not a cluster form.", "Use compose or k8s.")


def install(spec: InstallSpec, *, reporter: Reporter | None = None) -> dict[str, Any]:
    """Write the files that changed, then apply them, or stop with INSTALLER_NOT_APPLIED."""
    _check(spec)
    reporter = reporter or Reporter()
    layout = Layout(spec.prefix)
    wanted = files(spec)  # a spec the forms refuse stops here, before anything is written
    with RunLock(layout.lock):
        changed = []
        for path, data in wanted.items():
            if path.is_file() and path.read_bytes() == data:
                continue
            fsutil.write_atomic(path, data, mode=0o644)
            changed.append(str(path.relative_to(deploy_dir(spec))))
        written = {"directory": str(deploy_dir(spec)), "files": sorted(str(p) for p in wanted), "changed": changed}
        reporter.step("render", "done", written)
        found = check_tools(spec, written=True)
        try:
            output = run_tool(found["command"], APPLY_TIMEOUT)
        except ManagerError as error:
            why = f"{' '.join(found['command'])} failed: {error.message}"
            raise _not_applied(spec, why, found["tool"], written=True) from None
        reporter.step("apply", "done")
    return {
        "operation": "install",
        "form": spec.form,
        "version": spec.version,
        "render": written,
        "apply": {"command": found["command"], "output": (output.stdout + output.stderr)[-2000:]},
    }
