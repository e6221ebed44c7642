"""The agent is a distribution of its own (agent/pyproject.toml, ADR 0017): it declares exactly what agent/**
and the installer core it carries (installer/**) import, installs into a clean virtual environment without
Django or the control plane, and runs there."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import agent

ROOT = Path(__file__).resolve().parents[2]
AGENT_DIR = ROOT / "agent"
INSTALLER_DIR = ROOT / "installer"
AGENT_PROJECT = tomllib.loads((AGENT_DIR / "pyproject.toml").read_text())
ROOT_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# import name -> distribution name, for the third-party modules the agent may use
DISTRIBUTION = {
    "httpx": "httpx",
    "cryptography": "cryptography",
    "jsonschema": "jsonschema",
    "yaml": "pyyaml",
    "rich": "rich",
    "gnupg": "python-gnupg",
}
FIRST_PARTY = {"agent", "installer"}


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def third_party_imports() -> set[str]:
    found: set[str] = set()
    for path in [*AGENT_DIR.rglob("*.py"), *INSTALLER_DIR.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in FIRST_PARTY and top not in sys.stdlib_module_names:
                    found.add(top)
    return found


def test_the_agent_project_declares_exactly_what_the_agent_imports():
    imported = third_party_imports()
    assert imported <= set(DISTRIBUTION), f"map the new import(s) {sorted(imported - set(DISTRIBUTION))}"
    declared = {requirement_name(r) for r in AGENT_PROJECT["project"]["dependencies"]}
    assert declared == {DISTRIBUTION[name] for name in imported}
    assert AGENT_PROJECT["project"]["name"] == "seatunnel-controlplane-agent"


def test_the_agent_project_carries_every_installer_package():
    packages = set(AGENT_PROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in INSTALLER_DIR.rglob("__init__.py")}
    assert on_disk <= packages, f"add {sorted(on_disk - packages)} to agent/pyproject.toml's packages"


def test_the_root_project_still_ships_the_agent_with_its_dependencies():
    # `pip install -e . --group dev` (make) must keep the agent runnable for the control plane's own tests.
    assert "agent*" in ROOT_PROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "*.json" in ROOT_PROJECT["tool"]["setuptools"]["package-data"]["agent.schemas"]
    root_requirements = set(ROOT_PROJECT["project"]["dependencies"])
    for requirement in AGENT_PROJECT["project"]["dependencies"]:
        assert requirement in root_requirements, f"the root pyproject.toml lacks the agent's {requirement}"


CHECK = """
import importlib, pkgutil, sys
import agent
modules = [m.name for m in pkgutil.walk_packages(agent.__path__, "agent.") if m.name != "agent.__main__"]
for name in modules:
    importlib.import_module(name)
from agent import catalog, schemas
assert len(schemas.types()) == 17, schemas.types()
assert catalog.SCHEMAS["log.tail"].validate({"file": "a.log"}) == {"file": "a.log", "lines": 200}
try:
    catalog.SCHEMAS["log.tail"].validate({"file": "a" * 256})
except catalog.ParamsInvalid as error:
    assert error.field == "file", error.field
else:
    raise AssertionError("a 256-character file name was accepted")
assert not any(m == "django" or m.startswith(("django.", "controlplane")) for m in sys.modules)
try:
    import controlplane
except ImportError:
    pass
else:
    raise AssertionError("controlplane is importable")
print(agent.__version__, agent.__file__, len(modules))
"""


def test_the_agent_installs_alone_in_a_clean_venv_and_runs(tmp_path):
    source = tmp_path / "src" / "agent"
    # A copy, so the build's build/ and *.egg-info never land in the worktree; the installer beside it, where
    # agent/pyproject.toml's package-dir finds it.
    ignore = shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    shutil.copytree(AGENT_DIR, source, ignore=ignore)
    shutil.copytree(INSTALLER_DIR, tmp_path / "src" / "installer", ignore=ignore)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def run(*argv: str | Path, timeout: int = 60) -> str:
        done = subprocess.run(
            [str(a) for a in argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", source, timeout=240)

    version, location, count = run(python, "-c", CHECK).split()
    assert version == agent.__version__ and int(count) >= 15
    assert Path(location).is_relative_to(venv), location  # the installed copy, not the worktree's
    assert "--bootstrap-token" in run(python, "-m", "agent", "--help")
    # the installer core goes along: its CLI runs from the agent's own environment
    assert "install|upgrade|rollback|uninstall|plan|status" in run(python, "-m", "agent.install", "--help")
    assert "--resume" in run(venv / "bin" / "seatunnel-install", "install", "--help")
    assert agent.__version__ in run(python, "-m", "agent", "--version") + run(
        venv / "bin" / "seatunnel-controlplane-agent", "--version"
    )

    installed = {entry["name"].lower() for entry in json.loads(run(python, "-m", "pip", "list", "--format", "json"))}
    assert "seatunnel-controlplane-agent" in installed
    assert not {"django", "djangorestframework", "seatunnel-controlplane", "celery", "channels"} & installed
    assert {"httpx", "cryptography", "jsonschema", "pyyaml", "rich", "python-gnupg"} <= installed
