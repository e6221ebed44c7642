"""The systemd form: units per role, checked by `systemd-analyze verify` on a real file tree."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import pytest

from installer.forms import Deployment, FormError, Role
from installer.forms import systemd as form
from tests.installer.forms import tools


def _tree(tmp_path: Path, version: str = "2.3.12") -> Path:
    """<prefix>/versions/<v>/bin/seatunnel-cluster.sh and the `current` link: verify needs ExecStart to exist."""
    prefix = tmp_path / "opt" / "seatunnel"
    script = prefix / "versions" / version / "bin" / "seatunnel-cluster.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\nexec sleep 1\n")
    script.chmod(0o755)
    (prefix / "current").symlink_to(f"versions/{version}")
    return prefix


def _verify(units: dict[str, str], directory: Path) -> tuple[int, str]:
    tool = tools.require("systemd-analyze")
    directory.mkdir(exist_ok=True)
    paths = []
    for name, text in units.items():
        path = directory / name
        path.write_text(text)
        paths.append(str(path))
    # --man=no: the Documentation= URL is not looked up as a man page (offline, no man-db needed).
    result = tools.run([tool, "verify", "--man=no", *paths])
    return result.returncode, (result.stdout + result.stderr).strip()


def _parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


@pytest.mark.parametrize(
    ("roles", "names"),
    [
        ((Role.HYBRID,), ["seatunnel.service"]),
        ((Role.MASTER,), ["seatunnel-master.service"]),
        ((Role.WORKER,), ["seatunnel-worker.service"]),
        ((Role.MASTER, Role.WORKER), ["seatunnel-master.service", "seatunnel-worker.service"]),
    ],
)
def test_units_verify_clean(tmp_path: Path, roles: tuple[Role, ...], names: list[str]) -> None:
    prefix = _tree(tmp_path)
    d = Deployment(
        version="2.3.12",
        prefix=str(prefix),
        roles=roles,
        worker_http_port=8081 if len(roles) == 2 else None,
        java_home="/usr/lib/jvm/java-11",
        user="root",
        group="root",
    )
    units = form.render_units(d)
    assert sorted(units) == names
    code, output = _verify(units, tmp_path / "units")
    # verify exits 0 on most parse errors and only prints them: both must be clean.
    assert (code, output) == (0, "")


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a missing ExecStart binary and a bad Type are both reported."""
    prefix = _tree(tmp_path)
    d = Deployment(version="2.3.12", prefix=str(prefix), roles=(Role.MASTER,))
    text = form.unit_text(d, Role.MASTER).replace("Type=simple", "Type=simpel")
    code, output = _verify({"seatunnel-master.service": text}, tmp_path / "bad-type")
    assert "simpel" in output
    missing = Deployment(version="2.3.12", prefix=str(tmp_path / "nowhere"), roles=(Role.MASTER,))
    code, output = _verify(form.render_units(missing), tmp_path / "bad-exec")
    assert code != 0
    assert "seatunnel-cluster.sh" in output


def test_master_unit_runs_the_role_in_the_foreground_and_stops_gracefully() -> None:
    d = Deployment(version="2.3.12", roles=(Role.MASTER,), java_home="/usr/lib/jvm/java-11", nofile=100000)
    service = _parse(form.unit_text(d, Role.MASTER))["Service"]
    assert service["ExecStart"] == "/opt/seatunnel/current/bin/seatunnel-cluster.sh -r master"
    assert "-d" not in service["ExecStart"].split()  # the daemon flag would fork and lose the JVM
    assert service["Type"] == "simple"
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "control-group"
    assert service["TimeoutStopSec"] == "120"
    assert service["SuccessExitStatus"] == "143"
    assert service["Restart"] == "on-failure"
    assert service["LimitNOFILE"] == "100000"
    assert (service["User"], service["Group"]) == ("seatunnel", "seatunnel")
    assert service["WorkingDirectory"] == "/opt/seatunnel/current"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "full"
    assert "MemoryDenyWriteExecute" not in service  # the JIT needs writable executable memory
    assert "PrivateTmp" not in service
    writable = service["ReadWritePaths"].split()
    assert "-/opt/seatunnel/logs" in writable
    assert "-/opt/seatunnel/data/checkpoints" in writable


def test_environment_lines() -> None:
    text = form.unit_text(Deployment(version="2.3.12", java_home="/usr/lib/jvm/java-11"), Role.HYBRID)
    env = [line.removeprefix("Environment=") for line in text.splitlines() if line.startswith("Environment=")]
    assert "SEATUNNEL_HOME=/opt/seatunnel/current" in env
    assert "JAVA_HOME=/usr/lib/jvm/java-11" in env
    # The script runs `java` from PATH: the JDK's bin comes first.
    assert next(e for e in env if e.startswith("PATH=")).startswith("PATH=/usr/lib/jvm/java-11/bin:")
    without_java = form.unit_text(Deployment(version="2.3.12"), Role.HYBRID)
    assert "JAVA_HOME" not in without_java
    assert "PATH=" not in without_java


def test_hybrid_omits_the_role_flag() -> None:
    # `-r master_and_worker` passes the script but the JVM refuses it (ZETA_FACTS.md §4.3).
    service = _parse(form.unit_text(Deployment(version="2.3.12"), Role.HYBRID))["Service"]
    assert service["ExecStart"] == "/opt/seatunnel/current/bin/seatunnel-cluster.sh"


def test_worker_beside_a_master_has_its_own_rest_config_and_starts_after_it() -> None:
    d = Deployment(version="2.3.12", roles=(Role.MASTER, Role.WORKER), worker_http_port=8081)
    worker = form.unit_text(d, Role.WORKER)
    assert "Environment=SEATUNNEL_CONFIG=/opt/seatunnel/current/config/seatunnel-worker.yaml" in worker
    assert "After=seatunnel-master.service" in worker.splitlines()
    alone = form.unit_text(Deployment(version="2.3.12", roles=(Role.WORKER,)), Role.WORKER)
    assert "SEATUNNEL_CONFIG" not in alone
    assert "After=seatunnel-master.service" not in alone.splitlines()


def test_two_roles_on_one_host_need_two_rest_ports() -> None:
    with pytest.raises(FormError, match="worker_http_port"):
        Deployment(version="2.3.12", roles=(Role.MASTER, Role.WORKER))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("version", "latest", "version"),
        ("version", "2.3.12\n", "version"),  # a `$` anchor would let a trailing newline through
        ("name", "seatunnel\n", "DNS label"),
        ("cluster_name", "prod\n", "cluster_name"),
        ("roles", (Role.HYBRID, Role.WORKER), "hybrid"),
        ("roles", (), "roles is empty"),
        ("prefix", "opt/seatunnel", "absolute"),
        ("prefix", "/opt/sea tunnel", "blank"),
        ("user", "Bad User", "user"),
        ("heap", "2GB", "heap"),
        ("http_port", 70000, "http_port"),
        ("masters", 0, "masters"),
        ("name", "SeaTunnel", "DNS label"),
    ],
)
def test_bad_input_is_refused_by_name(field: str, value: object, message: str) -> None:
    with pytest.raises(FormError, match=message):
        Deployment(**{"version": "2.3.12", field: value})  # type: ignore[arg-type]


def test_rendering_is_deterministic() -> None:
    d = Deployment(version="2.3.12", roles=(Role.MASTER, Role.WORKER), worker_http_port=8081)
    assert form.render_units(d) == form.render_units(d)
    assert os.path.isabs(form.UNIT_DIR)
