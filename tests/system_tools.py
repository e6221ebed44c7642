"""The Debian tools that tests run (validators, promtool, amtool, the browser), found on PATH.

On a developer's machine a missing tool skips its tests with the package to install; under CI (CI=true) it fails
them instead, so a green CI never means "checked nothing". .ci/run installs every package named here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

PACKAGES = {
    "systemd-analyze": "systemd",
    "docker-compose": "docker-compose",
    "kubectl": "kubectl",
    "promtool": "prometheus",
    "amtool": "prometheus-alertmanager",
}


def require(tool: str) -> str:
    """The tool's path; skips the test (fails it under CI) when it is not installed."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian package {PACKAGES.get(tool, tool)})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(argv: Sequence[str], *, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool offline (no proxy variables), for a bounded time."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False)
