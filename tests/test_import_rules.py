"""The import contracts ([tool.importlinter] in pyproject.toml) hold on the real tree, and each one breaks when a
forbidden import is planted in a copy of it (so a contract that checks nothing cannot pass unnoticed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("controlplane", "agent", "installer")

# One planted import per contract: (file, line appended, the contract it must break).
PLANTED = [
    ("agent/__init__.py", "import controlplane.config", "agent-installer"),
    ("controlplane/jobs/domain/schedule.py", "import django.db", "domain-no-framework"),
    ("controlplane/clusters/domain/events.py", "from controlplane.clusters import selectors", "domain-pure"),
    ("controlplane/eventlog/hashing.py", "from controlplane.tenancy import context", "eventlog-bottom"),
    ("controlplane/seatunnel/states.py", "import celery", "seatunnel-django-free"),
    # A new cycle between apps: clusters is below jobs.
    ("controlplane/clusters/probe.py", "from controlplane.jobs import selectors", "app-layers"),
    # The rules for modules above their app's layer stay narrow: an api/ package reads other apps through
    # their selectors, not their models; a writer may import iam.access, not the rest of iam.
    ("controlplane/tenancy/api/views.py", "from controlplane.jobs import models", "app-layers"),
    ("controlplane/tenancy/actions.py", "from controlplane.iam import tokens", "app-layers"),
]
CONTRACTS = {contract for _, _, contract in PLANTED}


def lint_imports(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / "pyproject.toml"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold_on_the_tree():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


def test_every_contract_has_a_planted_violation():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    declared = {contract["id"] for contract in contracts}
    assert declared == CONTRACTS


def test_a_planted_import_breaks_each_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for relative, line, _ in PLANTED:
        path = tmp_path / relative
        path.write_text(path.read_text() + f"\n{line}  # planted\n")

    for relative, line, contract in PLANTED:
        result = lint_imports(tmp_path, "--contract", contract)
        assert result.returncode == 1, f"{contract} kept with {line!r} in {relative}:\n{result.stdout}"
        assert "BROKEN" in result.stdout
        module = relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        assert module in result.stdout, result.stdout
