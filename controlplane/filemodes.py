"""What the control plane writes to disk is its user's alone: files 0600, directories 0700, whatever umask
the process was started with (the SQLite database and its WAL and SHM files, the on-disk broker's messages,
generated keys, artifacts, collected static files, beat's schedule, the demo agent's state).

``restrict_umask`` runs first thing in every process of the control plane (settings.py), so anything created
later is private; child processes (the demo agent, its emulator) inherit it. ``make_private`` takes group and
other permissions off what an older release or a looser umask left behind.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE_UMASK = 0o077  # no permission for group or others on anything created


def restrict_umask() -> None:
    """Add PRIVATE_UMASK to this process's umask (a stricter umask stays as it is)."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def make_private(paths: Iterable[Path]) -> None:
    """Drop group and other permissions from each path and, for directories, everything under them. Only what
    this user owns is changed; symbolic links are neither changed nor followed; a file that disappears meanwhile
    (a broker message taken by a worker) is skipped."""
    uid = os.geteuid()
    for root in paths:
        for path in _walk(Path(root)):
            try:
                mode = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(mode.st_mode) or mode.st_uid != uid or not mode.st_mode & PRIVATE_UMASK:
                continue
            try:
                os.chmod(path, stat.S_IMODE(mode.st_mode) & ~PRIVATE_UMASK)
            except FileNotFoundError:
                continue


def _walk(root: Path) -> Iterable[str]:
    if not root.is_dir() or root.is_symlink():
        yield str(root)
        return
    for directory, _subdirectories, files in os.walk(root):  # never follows links to directories
        yield directory
        for name in files:
            yield os.path.join(directory, name)
