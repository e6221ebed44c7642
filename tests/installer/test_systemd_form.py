"""The systemd form through the core: install writes the role's unit into the unit directory (checked with
`systemd-analyze verify`), reloads systemd, enables and starts the unit, and the fake distribution's engine
really runs from the unit's own ExecStart/Environment lines (tests/installer/fake_systemd.py: no systemd runs
here); status, uninstall and plan; and the refusal where systemctl is missing or no systemd answers."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import install as cli
from installer import errors, plan, run
from installer.errors import InstallerError
from installer.spec import Layout
from installer.steps import service
from tests.installer.conftest import BROKEN, V1
from tests.installer.fake_systemd import FakeSystemd
from tests.installer.forms import tools
from tests.installer.test_plan_and_cli import snapshot

UNIT = "seatunnel.service"
SHOW = ["--no-ask-password", "show", UNIT, "--property=LoadState,ActiveState,SubState,MainPID"]


def ctl(*args: str) -> list[str]:
    return ["--no-ask-password", *args]


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "fakebin", tmp_path / "units")
    monkeypatch.setenv("PATH", f"{fake.bindir}{os.pathsep}{os.environ['PATH']}")
    yield fake
    fake.kill_all()


def verify(unit: Path) -> tuple[int, str]:
    result = tools.run([tools.require("systemd-analyze"), "verify", "--man=no", str(unit)])
    return result.returncode, (result.stdout + result.stderr).strip()


def test_install_writes_a_verified_unit_and_runs_the_engine_through_systemctl(make_spec, prefix, systemd, java11):
    spec = make_spec(V1, form="systemd", unit_dir=str(systemd.unit_dir))
    result = run.install(spec)

    unit = systemd.unit_dir / UNIT
    text = unit.read_text()
    assert f"ExecStart={prefix}/current/bin/seatunnel-cluster.sh\n" in text  # hybrid: no -r
    assert f"Environment=JAVA_HOME={java11}\n" in text and f"WorkingDirectory={prefix}/current\n" in text
    assert f"ReadWritePaths=-{prefix}/logs -{prefix}/data -{prefix}/data/checkpoint" in text
    assert verify(unit) == (0, "")

    # probe, reload after the unit was written, then enable + start; status read before and after, and by the
    # health check while the engine comes up (as often as it polls)
    calls = systemd.calls()
    assert calls[:6] == [
        ctl("show", "--property=Version"),
        ctl("daemon-reload"),
        SHOW,
        ctl("enable", UNIT),
        ctl("start", UNIT),
        SHOW,
    ]
    assert all(call == SHOW for call in calls[6:])
    pid = systemd.state()["units"][UNIT]["pid"]
    assert result["steps"]["start"] == {"unit": UNIT, "pid": pid, "state": "running", "already": False}
    assert result["steps"]["service"]["daemon_reload"] is True
    assert result["steps"]["preflight"]["service"] == {
        "systemd": "252 (252.38-1~deb12u1)",
        "unit_dir": str(unit.parent),
    }
    assert result["steps"]["health"]["version"] == V1
    # the engine was started from the unit's lines: through `current`, as a hybrid, with the unit's JAVA_HOME
    started = json.loads((prefix / "logs" / "fake-engine.json").read_text())
    assert (started["argv"], started["home"], started["java_home"]) == ([], str(prefix / "current"), str(java11))

    status = run.status(prefix)
    assert status["service"] == {"state": "running", "pid": pid, "active_state": "active", "sub_state": "running"}
    assert status["health"]["version"] == V1
    systemd.calls()

    # again: nothing to write, no reload; the unit is already running
    again = run.install(spec)
    assert again["steps"]["service"]["changed"] == [] and again["steps"]["service"]["daemon_reload"] is False
    assert again["steps"]["start"]["already"] is True
    assert ctl("daemon-reload") not in systemd.calls()

    planned = plan.plan_uninstall(prefix)
    assert {"kind": "service", "action": "disable", "unit": UNIT} in planned["changes"]
    assert {"kind": "remove", "path": str(unit)} in planned["changes"]
    assert systemd.calls() == [SHOW] and unit.exists()  # the plan read the unit's state, nothing else

    removed = run.uninstall(prefix)
    assert systemd.calls() == [SHOW, ctl("stop", UNIT), SHOW, ctl("disable", UNIT), ctl("daemon-reload")]
    assert not unit.exists() and str(unit) in removed["removed"]
    assert removed["stopped"] == {"unit": UNIT, "stopped_pid": pid, "already": False}
    assert systemd.state()["loaded"] == {}
    assert not os.path.exists(f"/proc/{pid}") or Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"


def test_a_first_install_that_does_not_come_up_removes_its_unit(make_spec, prefix, systemd):
    spec = make_spec(BROKEN, form="systemd", unit_dir=str(systemd.unit_dir))
    with pytest.raises(InstallerError) as caught:
        run.install(spec)
    assert caught.value.code == errors.HEALTH_FAILED and "exited" in caught.value.message
    calls = systemd.calls()
    assert calls[:5] == [
        ctl("show", "--property=Version"),
        ctl("daemon-reload"),
        SHOW,
        ctl("enable", UNIT),
        ctl("start", UNIT),
    ]
    assert calls[-2:] == [ctl("disable", UNIT), ctl("daemon-reload")]  # undone: disabled, removed, reloaded
    assert not (systemd.unit_dir / UNIT).exists() and systemd.state()["loaded"] == {}
    layout = Layout(prefix)
    assert not layout.current.is_symlink() and not layout.service_file.exists()


def test_an_upgrade_that_is_not_healthy_rolls_back_through_systemctl(make_spec, prefix, systemd):
    unit_dir = str(systemd.unit_dir)
    run.install(make_spec(V1, form="systemd", unit_dir=unit_dir))
    old_pid = systemd.state()["units"][UNIT]["pid"]
    systemd.calls()
    with pytest.raises(InstallerError) as caught:
        run.upgrade(make_spec(BROKEN, form="systemd", unit_dir=unit_dir))
    error = caught.value
    assert error.code == errors.ROLLED_BACK and "exited before it was healthy" in error.message
    assert error.detail["rollback"]["healthy"] is True
    calls = systemd.calls()
    stops = [i for i, call in enumerate(calls) if call == ctl("stop", UNIT)]
    starts = [i for i, call in enumerate(calls) if call == ctl("start", UNIT)]
    # the old engine stopped before the switch, the new one started and stopped, the old one started again
    assert len(stops) == 2 and len(starts) == 2 and stops[0] < starts[0] < stops[1] < starts[1]
    assert ctl("daemon-reload") not in calls  # the unit names only `current`: it did not change
    assert os.readlink(prefix / "current") == f"versions/{V1}"
    new_pid = systemd.state()["units"][UNIT]["pid"]
    assert new_pid != old_pid
    status = run.status(prefix)
    assert status["service"]["pid"] == new_pid and status["health"]["version"] == V1


def test_a_failed_daemon_reload_leaves_no_new_unit_behind(make_spec, prefix, systemd):
    # systemctl answers the probe but its daemon-reload fails (as when the caller may not talk to systemd)
    script = systemd.bindir / "systemctl"
    script.write_text(
        script.read_text().replace(
            'elif verb == "daemon-reload":',
            'elif verb == "daemon-reload":\n    print("Access denied", file=sys.stderr); sys.exit(1)\nelif False:',
        )
    )
    with pytest.raises(InstallerError) as caught:
        run.install(make_spec(V1, form="systemd", unit_dir=str(systemd.unit_dir)))
    assert caught.value.code == errors.SERVICE_FAILED and "daemon-reload" in caught.value.message
    assert "Access denied" in caught.value.message
    assert list(systemd.unit_dir.iterdir()) == [] and not (prefix / "current").is_symlink()


def test_plan_shows_the_unit_as_a_diff_and_changes_nothing(make_spec, prefix, systemd, capsys):
    args = ["plan", "--prefix", str(prefix), "--version", V1, "--form", "systemd", "--unit-dir", str(systemd.unit_dir)]
    args += ["--java-home", make_spec().java_home, "--mirror", make_spec().mirror, "--json"]
    before = (snapshot(prefix.parent), snapshot(systemd.unit_dir))
    assert cli.main(args) == errors.EXIT_OK
    assert (snapshot(prefix.parent), snapshot(systemd.unit_dir)) == before  # the prefix and the unit dir
    assert not prefix.exists() and not systemd.unit_dir.exists()
    assert systemd.calls() == [ctl("show", "--property=Version")]  # a probe only: no reload, no start
    result = json.loads(capsys.readouterr().out)
    units = [c for c in result["changes"] if c["kind"] == "file" and c["path"].endswith(UNIT)]
    assert [(u["path"], u["action"]) for u in units] == [(str(systemd.unit_dir / UNIT), "create")]
    assert f"+ExecStart={prefix}/current/bin/seatunnel-cluster.sh\n" in units[0]["diff"]
    actions = [(c["kind"], c.get("action")) for c in result["changes"]]
    assert ("service", "daemon-reload") in actions and ("service", "enable and start") in actions
    assert {"check": "service", "ok": True} == {k: v for k, v in result["checks"][-1].items() if k != "result"}

    # a unit edited by hand shows as a modification of that file
    systemd.unit_dir.mkdir()
    rendered = service.unit_files(make_spec(V1, form="systemd", unit_dir=str(systemd.unit_dir)))
    ((path, data),) = rendered.items()
    path.write_bytes(data.replace(b"RestartSec=10", b"RestartSec=3"))
    changed = plan.plan_install(make_spec(V1, form="systemd", unit_dir=str(systemd.unit_dir)))
    unit = next(c for c in changed["changes"] if c.get("path") == str(path))
    assert unit["action"] == "modify" and "-RestartSec=3\n+RestartSec=10\n" in unit["diff"]


def _path_without_systemctl() -> str:
    return os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if d and not os.path.exists(os.path.join(d, "systemctl"))
    )


def assert_refused_untouched(call, prefix: Path, unit_dir: Path) -> InstallerError:
    with pytest.raises(InstallerError) as caught:
        call()
    error = caught.value
    assert error.code == errors.SYSTEMD_UNAVAILABLE and error.exit_code == errors.EXIT_SERVICE
    assert "systemctl" in error.message and "--form process" in error.hint
    assert not unit_dir.exists()
    layout = Layout(prefix)
    # nothing fetched, unpacked, linked or defined: only the refused run's journal and lock (docs/INSTALLER.md)
    assert sorted(p.name for p in prefix.iterdir()) == [".installer"]
    assert sorted(p.name for p in layout.state_dir.iterdir()) == ["journal.json", "lock"]
    return error


def test_without_systemctl_an_install_is_refused_and_changes_nothing(make_spec, prefix, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_without_systemctl())
    assert shutil.which("systemctl") is None
    unit_dir = tmp_path / "units"
    error = assert_refused_untouched(
        lambda: run.install(make_spec(V1, form="systemd", unit_dir=str(unit_dir))), prefix, unit_dir
    )
    assert "systemctl is not installed" in error.message


def test_with_systemctl_but_no_running_systemd_an_install_is_refused(make_spec, prefix, tmp_path):
    """This machine's own systemctl, whose PID 1 is not systemd: it answers "System has not been booted with
    systemd as init system (PID 1). Can't operate." and fails."""
    if shutil.which("systemctl") is None or Path("/run/systemd/system").is_dir():
        pytest.skip("needs a real systemctl on a host where systemd is not running (as here)")
    unit_dir = tmp_path / "units"
    error = assert_refused_untouched(
        lambda: run.install(make_spec(V1, form="systemd", unit_dir=str(unit_dir))), prefix, unit_dir
    )
    assert "not been booted with systemd" in error.message
