"""deploy/bootstrap.sh: Python and the agent on a bare node, then the agent started; no installer logic in shell.

Real runs of the script: its syntax (`bash -n`), its refusals, and a whole bootstrap from a local wheel of the agent
package (built here with pip) into a temporary prefix, started in the foreground (`-- --check-config`: the agent
reads its config and exits). The systemd branch writes its unit where the test says and is checked with
`systemd-analyze verify`; `systemctl` is a stand-in on PATH that records its calls (no systemd runs the test).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agent

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "bootstrap.sh"


def bootstrap(*args: str | Path, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE")}
    base["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        ["bash", str(SCRIPT), *map(str, args)],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_script_parses_and_refuses_bad_usage(tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0
    assert os.access(SCRIPT, os.X_OK)
    missing = bootstrap("--prefix", tmp_path)
    assert missing.returncode == 2 and "--from is required" in missing.stderr
    unknown = bootstrap("--from", tmp_path, "--frobnicate")
    assert unknown.returncode == 2 and "unknown argument --frobnicate" in unknown.stderr
    old = tmp_path / "python2"
    old.write_text("#!/bin/sh\nexit 1\n")  # answers no version check: not 3.11+
    old.chmod(0o755)
    refused = bootstrap("--from", tmp_path, "--python", old, "--prefix", tmp_path / "p")
    assert refused.returncode == 3 and "not Python 3.11" in refused.stderr
    empty = bootstrap("--from", tmp_path, "--python", sys.executable, "--prefix", tmp_path / "p")
    assert empty.returncode == 2 and "agent/pyproject.toml" in empty.stderr
    assert not (tmp_path / "p").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agent package as a wheel, built from a copy of the sources (nothing lands in the worktree)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    shutil.copytree(ROOT / "agent", src / "agent", ignore=ignore)
    shutil.copytree(ROOT / "installer", src / "installer", ignore=ignore)
    out = tmp_path_factory.mktemp("wheels")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src / "agent")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("*.whl")
    return built


def test_a_bootstrap_from_a_local_wheel_runs_the_agent_in_the_foreground(tmp_path: Path, wheel: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f"state_dir = '{tmp_path / 'state'}'\n[installer]\nroot = '{tmp_path / 'opt'}'\n")
    prefix = tmp_path / "opt" / "seatunnel-agent"
    done = bootstrap(*("--from", wheel, "--prefix", prefix, "--config", config, "--foreground", "--", "--check-config"))
    assert done.returncode == 0, done.stdout + done.stderr
    # what got installed, said by the venv's agent (run from the worktree: -P keeps its agent/ out of the way)
    assert f"seatunnel-agent {agent.__version__} in {prefix / 'venv'}" in done.stderr
    python = prefix / "venv" / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    location = subprocess.run(
        [python, "-c", "import agent, installer; print(agent.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=clean,
    ).stdout
    assert Path(location.strip()).is_relative_to(prefix)  # the venv's copy, with the installer core beside it
    assert (prefix / "venv" / "bin" / "seatunnel-install").exists()

    # A config the agent refuses stops the bootstrap before anything starts (exit 5).
    config.write_text("no_such_key = 1\n")
    refused = bootstrap("--from", wheel, "--prefix", prefix, "--config", config, "--no-start")
    assert refused.returncode == 5 and "refused its config" in refused.stderr

    # The systemd branch: a unit that systemd-analyze accepts, enabled and started through systemctl.
    config.write_text(f"state_dir = '{tmp_path / 'state'}'\n")
    shims = tmp_path / "bin"
    shims.mkdir()
    calls = tmp_path / "systemctl.calls"
    (shims / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    (shims / "systemctl").chmod(0o755)
    unit = tmp_path / "seatunnel-agent.service"
    env = {"PATH": f"{shims}:{os.environ['PATH']}", "SEATUNNEL_AGENT_UNIT_PATH": str(unit)}
    server = "https://cp.example.org"
    done = bootstrap(
        *("--from", wheel, "--prefix", prefix, "--config", config, "--server", server, "--systemd"), env=env
    )
    assert done.returncode == 0, done.stderr
    text = unit.read_text()
    assert f"ExecStart={python} -P -m agent --config {config} --server {server}" in text
    assert calls.read_text().splitlines() == ["daemon-reload", "enable --now seatunnel-agent.service"]
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        verified = subprocess.run(
            [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
        )
        assert "ExecStart" not in verified.stderr and "Unknown" not in verified.stderr, verified.stderr
