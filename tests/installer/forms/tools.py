"""The external validators the form tests run: systemd-analyze, docker-compose, kubectl.

On a developer's machine a missing tool skips its tests with the package to install; under CI (CI=true) it
fails them instead, so a green CI never means "validated nothing".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

PACKAGES = {"systemd-analyze": "systemd", "docker-compose": "docker-compose", "kubectl": "kubectl"}


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian package {PACKAGES.get(tool, tool)})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(argv: Sequence[str], *, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a validator offline (no proxy variables), for a bounded time."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a form's files (relative path -> text) under root, as an install would."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
