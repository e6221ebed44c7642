"""Unpack the tarball into `<prefix>/versions/<version>/`, safely: every member is checked before anything is
written (no absolute paths, no `..`, no links that leave the tree, no devices), it is extracted into a
temporary directory beside the target, the layout is checked, and only then renamed into place. The shipped
config/ is kept under `.installer/dist/<version>/` to render from. Idempotent: a version directory unpacked
from the same tarball (same digest, in its marker) is left alone."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from installer import errors, fsutil
from installer.errors import InstallerError
from installer.steps import Context

MARKER = ".installer-unpacked.json"
REQUIRED = (
    "bin/seatunnel-cluster.sh",
    "config/seatunnel.yaml",
    "config/hazelcast.yaml",
    "lib",
    "starter",
    "connectors",
)


def _bad(tarball: Path, why: str) -> InstallerError:
    return InstallerError(
        errors.BAD_ARCHIVE,
        f"{tarball.name} is not a usable SeaTunnel distribution: {why}.",
        "Use the release's -bin.tar.gz from the Apache archive or a mirror.",
    )


def check_members(tarball: Path, archive: tarfile.TarFile, top: str) -> list[tarfile.TarInfo]:
    members = archive.getmembers()
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise _bad(tarball, f"the member {member.name!r} would land outside the install directory")
        if path.parts[0] != top:
            raise _bad(tarball, f"the member {member.name!r} is not under {top}/")
        if member.isdev() or member.isfifo():
            raise _bad(tarball, f"the member {member.name!r} is a device or pipe")
        if member.issym() or member.islnk():
            target = PurePosixPath(member.linkname)
            resolved = target if member.islnk() else path.parent / target
            if target.is_absolute() or _escapes(resolved, top):
                raise _bad(tarball, f"the link {member.name!r} -> {member.linkname!r} leaves the install directory")
    return members


def _escapes(path: PurePosixPath, top: str) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 1:
            return True
    return path.parts[0] != top


def read_marker(target: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((target / MARKER).read_text())
        return data
    except (OSError, ValueError):
        return None


def run(ctx: Context) -> dict[str, Any]:
    spec, layout = ctx.spec, ctx.layout
    tarball = Path(ctx.results["fetch"]["path"])
    digest = ctx.results["verify"]["sha512"]
    target = layout.version_dir(spec.version)
    marker = read_marker(target)
    if marker is not None and marker.get("sha512") == digest and layout.dist_config(spec.version).is_dir():
        return {"path": str(target), "already": True}
    if target.exists():
        if layout.current_version() == spec.version:
            raise InstallerError(
                errors.VERSION_IN_USE,
                f"{target} is the running version but was unpacked from another tarball.",
                "Roll back or upgrade to another version first, then reinstall this one.",
            )
        fsutil.remove_tree(target)  # a half-unpacked or foreign tree from an interrupted run
    layout.versions.mkdir(parents=True, exist_ok=True)
    staging = layout.versions / f".unpack-{spec.version}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        try:
            archive = tarfile.open(tarball, "r:*")
        except (tarfile.TarError, OSError) as error:
            raise _bad(tarball, f"it cannot be read as a tar archive ({error})") from None
        with archive:
            members = check_members(tarball, archive, spec.top_dir)
            total = sum(m.size for m in members) or None
            done = 0
            for member in members:
                archive.extract(member, staging, filter="data")
                done += member.size
                ctx.reporter.progress("unpack", done, total)
        unpacked = staging / spec.top_dir
        missing = [name for name in REQUIRED if not (unpacked / name).exists()]
        if missing:
            raise _bad(tarball, f"it lacks {', '.join(missing)}")
        dist = layout.dist_config(spec.version)
        if dist.exists():
            shutil.rmtree(dist)
        dist.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(unpacked / "config", dist)
        shipped_lib = sorted(str(p.relative_to(unpacked)) for p in (unpacked / "lib").rglob("*.jar"))
        fsutil.write_atomic(
            unpacked / MARKER,
            json.dumps({"version": spec.version, "sha512": digest, "lib": shipped_lib}).encode(),
            mode=0o644,
        )
        os.replace(unpacked, target)
        fsutil.fsync_dir(layout.versions)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"path": str(target), "files": len(members)}
