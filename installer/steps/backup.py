"""Config backup before an upgrade, and its restore on rollback: a copy of `versions/<old>/config/` under
`.installer/backups/<old>/config/` (one per version: the config that version last ran with)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from installer import fsutil
from installer.spec import Layout


def backup_dir(layout: Layout, version: str) -> Path:
    return layout.backups / version / "config"


def backup(layout: Layout, version: str) -> dict[str, Any]:
    source = layout.version_dir(version) / "config"
    dest = backup_dir(layout, version)
    staging = dest.with_name(f".config.{uuid.uuid4().hex}")
    staging.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, staging)
    if dest.exists():
        fsutil.remove_tree(dest)
    staging.rename(dest)
    return {"path": str(dest), "files": sorted(p.name for p in dest.iterdir())}


def restore(layout: Layout, version: str) -> dict[str, Any]:
    """Put the backed-up config back file by file (atomic writes); files the backup lacks are left alone."""
    source = backup_dir(layout, version)
    if not source.is_dir():
        return {"restored": [], "note": "no backup of this version's config"}
    config = layout.version_dir(version) / "config"
    restored = []
    for path in sorted(source.iterdir()):
        if not path.is_file():
            continue
        target = config / path.name
        data = path.read_bytes()
        if target.exists() and target.read_bytes() == data:
            continue
        fsutil.write_atomic(target, data, mode=path.stat().st_mode & 0o777)
        restored.append(path.name)
    return {"restored": restored}
