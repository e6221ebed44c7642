"""`plan`: what an install, upgrade, rollback or uninstall would change, changing nothing.

Every file the run would write is listed with a unified diff against what is on disk (secrets masked), every
link with its old and new target, and the service changes. The shipped config to render from is read from the
unpacked version, the downloaded tarball or a local `--source` file, in memory; when none is on this host yet
the plan says the config will be rendered after the download. The read-only preflight checks run too, and
their refusals are listed rather than raised. Nothing is created: no directory, no journal, no lock.
"""

from __future__ import annotations

import difflib
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from installer import cluster_forms, errors, versions
from installer.errors import InstallerError
from installer.spec import CLUSTER_FORMS, InstallSpec, Layout
from installer.steps import Context, configure, preflight, service, switch, unpack

_SECRET = re.compile(r"(password\s*[:=]\s*).*", re.IGNORECASE)


def _mask(text: str) -> str:
    return "\n".join(_SECRET.sub(r"\1***", line) for line in text.splitlines()) + ("\n" if text else "")


def diff(old: bytes | None, new: bytes, label: str, old_label: str | None = None) -> str:
    before = _mask(old.decode(errors="replace")) if old is not None else ""
    after = _mask(new.decode(errors="replace"))
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=old_label or ("/dev/null" if old is None else label),
            tofile=label,
        )
    )


def _shipped_reader(spec: InstallSpec, layout: Layout) -> tuple[configure.Reader | None, str]:
    dist = layout.dist_config(spec.version)
    if dist.is_dir():
        return configure.dist_reader(dist), str(dist)
    url = spec.tarball_url()
    tarball = spec.local_file() if url is None else layout.downloads / url.rsplit("/", 1)[1]
    if tarball is None or not tarball.is_file():
        return None, "not on this host yet"
    try:
        archive = tarfile.open(tarball, "r:*")
    except (tarfile.TarError, OSError):
        return None, f"{tarball} is not readable"
    files: dict[str, bytes] = {}
    with archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if len(parts) == 3 and parts[0] == spec.top_dir and parts[1] == "config" and member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    files[parts[2]] = handle.read()
    return files.get, str(tarball)


def _file_change(path: Path, new: bytes, compare_to: Path | None = None) -> dict[str, Any]:
    old = path.read_bytes() if path.is_file() else None
    label_old = None
    if old is None and compare_to is not None and compare_to.is_file():
        old, label_old = compare_to.read_bytes(), str(compare_to)
    if path.is_file() and old == new:
        return {"kind": "file", "path": str(path), "action": "unchanged"}
    return {
        "kind": "file",
        "path": str(path),
        "action": "modify" if path.is_file() else "create",
        "diff": diff(old, new, str(path), label_old),
    }


def _checks(spec: InstallSpec, layout: Layout) -> list[dict[str, Any]]:
    ctx = Context(spec=spec, layout=layout)
    checks: list[dict[str, Any]] = []
    our_pid = service.running_pid(layout)
    named: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
        ("machine", lambda: preflight.check_machine(ctx)),
        ("user", lambda: preflight.check_user(ctx)),
        ("java", lambda: preflight.check_java(ctx)),
        ("ports", lambda: preflight.check_ports(spec.ports, our_pid)),
        ("clock", preflight.check_clock),
        ("service", lambda: service.check_tools(spec)),
    )
    for name, check in named:
        try:
            checks.append({"check": name, "ok": True, "result": check()})
        except InstallerError as error:
            checks.append({"check": name, "ok": False, "error": error.to_json()})
    return checks


def plan_cluster(spec: InstallSpec) -> dict[str, Any]:
    """compose and k8s: the files as diffs against `<prefix>/deploy/<form>/`, the command that applies them and
    whether it can run here (installer/cluster_forms.py)."""
    changes = [_file_change(path, data) for path, data in cluster_forms.files(spec).items()]
    checks: list[dict[str, Any]] = []
    try:
        found = cluster_forms.check_tools(spec)
        checks.append({"check": "apply", "ok": True, "result": found})
        command = found["command"]
    except InstallerError as error:
        checks.append({"check": "apply", "ok": False, "error": error.to_json()})
        command = cluster_forms.apply_command(spec)
    changes.append({"kind": "apply", "action": " ".join(command), "path": str(cluster_forms.deploy_dir(spec))})
    return {
        "operation": "install",
        "version": spec.version,
        "form": spec.form,
        "changes": changes,
        "checks": checks,
        "refusals": [],
    }


def plan_install(spec: InstallSpec, operation: str = "install") -> dict[str, Any]:
    if spec.form in CLUSTER_FORMS:
        if operation != "install":
            refusal = {"code": errors.FORM_NOT_AVAILABLE, "message": f"the {spec.form} form is upgraded by install"}
            return {**plan_cluster(spec), "operation": operation, "refusals": [refusal]}
        return plan_cluster(spec)
    layout = Layout(spec.prefix)
    node = switch.load_node(layout)
    current = layout.current_version()
    changes: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    if operation == "upgrade" and current is not None:
        try:
            kind = versions.check_change(current, spec.version)
        except InstallerError as error:
            refusals.append(error.to_json())
            kind = "downgrade"
    else:
        kind = "install"
    url = spec.tarball_url()
    if url is None:
        changes.append({"kind": "source", "path": str(spec.local_file()), "action": "read in place"})
    else:
        dest = layout.downloads / url.rsplit("/", 1)[1]
        part = dest.with_name(dest.name + ".part")
        action = "present" if dest.exists() else ("resume download" if part.exists() else "download")
        changes.append({"kind": "download", "url": url, "path": str(dest), "action": action})
        for suffix in (".sha512", ".asc"):
            changes.append({"kind": "download", "url": url + suffix, "path": str(dest) + suffix})
    target = layout.version_dir(spec.version)
    unpacked = unpack.read_marker(target) is not None
    changes.append({"kind": "directory", "path": str(target), "action": "present" if unpacked else "unpack"})
    read, source = _shipped_reader(spec, layout)
    config = target / "config"
    if read is None:
        changes.append(
            {"kind": "config", "path": str(config), "action": f"render after the download (shipped config {source})"}
        )
    else:
        try:
            rendered = configure.render(spec, read)
        except InstallerError as error:
            refusals.append(error.to_json())
            rendered = {}
        current_config = layout.version_dir(current) / "config" if current else None
        for name, data in rendered.items():
            changes.append(_file_change(config / name, data, current_config / name if current_config else None))
    definition: dict[str, Any] | None
    try:
        definition = service.definition(spec, layout)
    except InstallerError as error:
        refusals.append(error.to_json())
        definition = None
    if definition is not None:
        changes.append(_file_change(layout.service_file, json.dumps(definition, indent=2).encode()))
    if definition is not None and definition["form"] == "systemd":
        units = [_file_change(path, data) for path, data in service.unit_files(spec).items()]
        changes += units
        if any(unit["action"] != "unchanged" for unit in units):
            changes.append({"kind": "service", "action": "daemon-reload", "form": "systemd"})
    if operation == "upgrade" and current:
        changes.append({"kind": "backup", "path": str(layout.backups / current / "config"), "action": "copy"})
    running = service.running_pid(layout)
    if running is not None and current != spec.version:
        changes.append({"kind": "service", "action": "stop", "pid": running, "version": current})
    old_target = f"versions/{current}" if current else None
    new_target = switch.link_target(spec.version)
    changes.append(
        {
            "kind": "link",
            "path": str(layout.current),
            "from": old_target,
            "to": new_target,
            "action": "unchanged" if old_target == new_target else "switch",
        }
    )
    if running is None or current != spec.version:
        start = "enable and start" if spec.form == "systemd" else "start"
        changes.append({"kind": "service", "action": start, "form": spec.form, "then": "health check"})
    if operation == "install" and current is not None and current != spec.version:
        refusals.append({"code": "INSTALLER_ALREADY_INSTALLED", "message": f"{current} is installed; use upgrade"})
    return {
        "operation": operation,
        "version": spec.version,
        "from": current,
        "change": kind,
        "previous_kept": current if operation == "upgrade" else None,
        "node": {"current": node.get("current"), "previous": node.get("previous")},
        "changes": changes,
        "checks": _checks(spec, layout),
        "refusals": refusals,
    }


def plan_rollback(prefix: Path) -> dict[str, Any]:
    layout = Layout(prefix)
    node = switch.load_node(layout)
    current, previous = node.get("current"), node.get("previous")
    if previous is None:
        refusal = {"code": errors.NO_PREVIOUS_VERSION, "message": "there is no previous version to roll back to"}
        return {"operation": "rollback", "changes": [], "refusals": [refusal]}
    return {
        "operation": "rollback",
        "version": previous,
        "from": current,
        "changes": [
            {"kind": "service", "action": "stop", "pid": service.running_pid(layout)},
            {"kind": "link", "path": str(layout.current), "from": f"versions/{current}", "to": f"versions/{previous}"},
            {"kind": "config", "path": str(layout.version_dir(previous) / "config"), "action": "restore backup"},
            {"kind": "service", "action": "start", "then": "health check"},
        ],
        "refusals": [],
    }


def plan_uninstall(prefix: Path, purge: bool = False) -> dict[str, Any]:
    layout = Layout(prefix)
    remove = [layout.current, layout.versions, layout.downloads, layout.state_dir]
    keep = [] if purge else [layout.logs, layout.data]
    if purge:
        remove += [layout.logs, layout.data]
    defined = service.load(layout) or {}
    units = (
        [Path(defined["unit_dir"]) / u for u in defined.get("units", [])] if defined.get("form") == "systemd" else []
    )
    disable = [{"kind": "service", "action": "disable", "unit": u.name} for u in units]
    return {
        "operation": "uninstall",
        "changes": [{"kind": "service", "action": "stop", "pid": service.running_pid(layout)}]
        + disable
        + [{"kind": "remove", "path": str(p)} for p in [*units, *remove] if p.exists() or p.is_symlink()],
        "kept": [str(p) for p in keep if p.exists()],
        "refusals": [],
    }
