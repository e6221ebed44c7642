"""Atomic file and link changes: every write is tmp + fsync + os.replace, so a crash leaves the old or the new
file, never half of one; `switch_link` replaces a symlink the same way (a link at a temporary name, renamed)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from agent import state
from agent.state import fsync_dir as fsync_dir  # re-exported: installer/steps/unpack.py calls fsutil.fsync_dir


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state.write_atomic(path, data, mode)


def switch_link(link: Path, target: str) -> str | None:
    """Point `link` at `target` (a path relative to the link's directory) atomically; returns the old target."""
    try:
        old: str | None = os.readlink(link)
    except FileNotFoundError:
        old = None
    if old == target:
        return old
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)
    return old


def remove_link(link: Path) -> None:
    if link.is_symlink():
        link.unlink()
        fsync_dir(link.parent)


def remove_tree(path: Path) -> None:
    """Remove a directory by renaming it aside first, so a crash never leaves half of it under its name."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    trash = path.with_name(f".{path.name}.{uuid.uuid4().hex}.trash")
    os.replace(path, trash)
    shutil.rmtree(trash)


def existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path
