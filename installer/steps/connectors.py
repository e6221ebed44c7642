"""Connectors: the bin tarball ships only the fake/console ones (ZETA_FACTS §4.1).
The wanted list is `--connectors a,b`,
or `--connectors @plugin_config` for every line of the shipped `config/plugin_config` (lines starting with `-`
or `#` skipped, as install-plugin.sh does); none given means the bundled ones only. Each
must be present as `connectors/<name>-<version>.jar`, already in the distribution or copied from the local
jars directory (`--connectors-dir`, for air-gapped sites).

SeaTunnel's own `bin/install-plugin.sh` downloads connectors from Maven Central with `mvnw`; this installer
does not download them (no Maven Central access is assumed): a connector that is neither shipped nor in the
local directory is a clear INSTALLER_CONNECTOR_MISSING naming it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from installer import errors, fsutil
from installer.errors import InstallerError
from installer.steps import Context


def plugin_config(path: Path) -> list[str]:
    names: list[str] = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return names
    for line in lines:
        line = line.strip()
        if line and not line.startswith(("-", "#")):
            names.append(line)
    return names


def wanted(ctx: Context) -> list[str]:
    if ctx.spec.connectors is None:
        return []
    names: list[str] = []
    for item in ctx.spec.connectors:
        if item == "@plugin_config":
            names += plugin_config(ctx.layout.dist_config(ctx.spec.version) / "plugin_config")
        else:
            names.append(item)
    return names


def _find(directory: Path, name: str, version: str) -> Path | None:
    exact = directory / f"{name}-{version}.jar"
    if exact.is_file():
        return exact
    candidates = sorted(directory.glob(f"{name}-*.jar"))
    return candidates[-1] if candidates else None


def run(ctx: Context) -> dict[str, Any]:
    spec = ctx.spec
    connectors = ctx.layout.version_dir(spec.version) / "connectors"
    local = Path(spec.connectors_dir).expanduser() if spec.connectors_dir else None
    present, copied = [], []
    for name in wanted(ctx):
        if _find(connectors, name, spec.version):
            present.append(name)
            continue
        source = _find(local, name, spec.version) if local else None
        if source is None:
            raise InstallerError(
                errors.CONNECTOR_MISSING,
                f"The connector {name} is not in the distribution"
                + (f" nor in {local}" if local else " and no --connectors-dir was given")
                + ".",
                f"Put {name}-{spec.version}.jar (from Maven Central: org.apache.seatunnel:{name}:{spec.version}) "
                "into a directory and pass it with --connectors-dir; this installer does not download "
                "connectors (SeaTunnel's install-plugin.sh needs Maven Central, which is not assumed reachable).",
                connector=name,
            )
        dest = connectors / source.name
        fsutil.write_atomic(dest, source.read_bytes(), mode=0o644)
        shutil.copystat(source, dest)
        copied.append(source.name)
    return {"present": present, "copied": copied}
