"""The real Prometheus tools the deploy/ tests run: promtool (Debian package prometheus) and amtool
(prometheus-alertmanager).

As tests/installer/forms/tools.py: on a developer's machine a missing tool skips its tests with the package to
install; under CI (CI=true) it fails them, so a green CI never means "checked nothing".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian package {PACKAGES[tool]})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(argv: Sequence[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
