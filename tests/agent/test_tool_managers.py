"""systemd, compose and kubernetes managers against fake `systemctl`, `docker` and `kubectl` executables
put first on PATH. Each fake records its argv and answers like the real tool, so these tests pin the exact
command lines the agent would run. (No systemd, Docker engine or Kubernetes cluster runs here; the real
tools were not exercised — docs/AGENT.md says so.)"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from agent import config
from agent.managers import build

FAKE = r"""#!PYTHON
import json, os, sys
from pathlib import Path
here = Path(__file__).resolve().parent
argv = sys.argv[1:]
with open(here / "calls.jsonl", "a") as f:
    f.write(json.dumps([Path(sys.argv[0]).name, *argv]) + "\n")
state_file = here / "state.json"
state = json.loads(state_file.read_text()) if state_file.exists() else {}
def save():
    state_file.write_text(json.dumps(state))
name = Path(sys.argv[0]).name
if state.get("fail"):
    print(state["fail"], file=sys.stderr); sys.exit(1)
if name == "systemctl":
    args = [a for a in argv if not a.startswith("--")]
    verb, unit = args[0], args[1]
    if verb in ("start", "restart"):
        state.update(active="active", sub="running", pid=state.get("pid", 4000) + 1); save()
    elif verb == "stop":
        state.update(active="inactive", sub="dead", pid=0); save()
    elif verb == "show":
        if unit != "seatunnel.service":
            print("LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0"); sys.exit(0)
        print(f"LoadState=loaded\nActiveState={state.get('active', 'inactive')}\n"
              f"SubState={state.get('sub', 'dead')}\nMainPID={state.get('pid', 0)}")
elif name == "docker":
    assert argv[0] == "compose"
    rest = argv[argv.index("-f") + 2:]
    if rest[0] == "-p":
        rest = rest[2:]
    verb = rest[0]
    if verb in ("up", "restart"):
        state["state"] = "running"; save()
    elif verb == "stop":
        state["state"] = "exited"; save()
    elif verb == "ps":
        if "state" in state:
            print(json.dumps({"Name": "st-master-1", "Service": rest[-1], "State": state["state"],
                              "Health": "", "ExitCode": 0}))
elif name == "kubectl":
    args = argv[argv.index("-n") + 2:]
    if args[0] == "scale":
        n = int(args[2].split("=")[1]); state.update(replicas=n, ready=n); save()
    elif args[:2] == ["rollout", "restart"]:
        print(f"{args[2]} restarted")
    elif args[:2] == ["rollout", "status"]:
        print(f'{args[2]} rolled out')
    elif args[0] == "get":
        n = state.get("replicas", 1)
        print(json.dumps({"kind": "StatefulSet", "spec": {"replicas": n},
                          "status": {"replicas": n, "readyReplicas": state.get("ready", n), "updatedReplicas": n}}))
"""


@pytest.fixture
def fake_bin(tmp_path, monkeypatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("systemctl", "docker", "kubectl", "sudo"):
        path = bindir / tool
        if tool == "sudo":
            # sudo -n <argv>: records itself, then runs the rest (the fake systemctl)
            path.write_text(
                f"#!{sys.executable}\nimport json, os, sys\nfrom pathlib import Path\n"
                "here = Path(__file__).resolve().parent\n"
                "open(here / 'calls.jsonl', 'a').write(json.dumps(['sudo', *sys.argv[1:]]) + '\\n')\n"
                "args = sys.argv[2:] if sys.argv[1] == '-n' else sys.argv[1:]\n"
                "os.execv(str(here / args[0]), args)\n"
            )
        else:
            path.write_text(FAKE.replace("PYTHON", sys.executable, 1))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return bindir


def calls(bindir: Path) -> list[list[str]]:
    path = bindir / "calls.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


def manager(table: dict, tmp_path: Path):
    cfg = config.parse({"state_dir": str(tmp_path / "state"), "service": table})
    return build(cfg.service, cfg)


def test_systemd(fake_bin, tmp_path):
    m = manager({"manager": "systemd", "unit": "seatunnel.service"}, tmp_path)
    assert m.status().state == "stopped"
    show = [
        "systemctl",
        "--no-ask-password",
        "show",
        "seatunnel.service",
        "--property=LoadState,ActiveState,SubState,MainPID",
    ]
    assert calls(fake_bin) == [show]
    started = m.start(30)
    assert started["status"] == {"state": "running", "pid": 4001, "active_state": "active", "sub_state": "running"}
    assert calls(fake_bin) == [["systemctl", "--no-ask-password", "start", "seatunnel.service"], show]
    assert m.restart(30)["status"]["pid"] == 4002
    assert calls(fake_bin)[0] == ["systemctl", "--no-ask-password", "restart", "seatunnel.service"]
    assert m.stop(30)["status"]["state"] == "stopped"
    assert calls(fake_bin)[0] == ["systemctl", "--no-ask-password", "stop", "seatunnel.service"]


def test_systemd_user_scope_with_sudo_and_an_unknown_unit(fake_bin, tmp_path):
    m = manager({"manager": "systemd", "unit": "seatunnel.service", "sudo": True, "scope": "user"}, tmp_path)
    m.start(30)
    assert calls(fake_bin)[:2] == [
        ["sudo", "-n", "systemctl", "--user", "--no-ask-password", "start", "seatunnel.service"],
        ["systemctl", "--user", "--no-ask-password", "start", "seatunnel.service"],
    ]
    missing = manager({"manager": "systemd", "unit": "nope.service"}, tmp_path).status()
    assert missing.state == "unknown" and "not found" in missing.detail["error"]


def test_systemd_failure_carries_the_tool_output(fake_bin, tmp_path):
    (fake_bin / "state.json").write_text(json.dumps({"fail": "Job for seatunnel.service failed."}))
    m = manager({"manager": "systemd", "unit": "seatunnel.service"}, tmp_path)
    from agent.managers.base import ManagerError

    with pytest.raises(ManagerError) as failure:
        m.restart(30)
    assert failure.value.code == "AGENT_SERVICE_COMMAND_FAILED"
    assert "Job for seatunnel.service failed." in failure.value.message


def test_compose(fake_bin, tmp_path):
    m = manager(
        {"manager": "compose", "file": "/opt/st/docker-compose.yml", "service": "master", "project": "st"}, tmp_path
    )
    base = ["docker", "compose", "-f", "/opt/st/docker-compose.yml", "-p", "st"]
    ps = [*base, "ps", "--all", "--format", "json", "master"]
    assert m.status().state == "stopped"
    assert calls(fake_bin) == [ps]
    assert m.start(60)["status"]["state"] == "running"
    assert calls(fake_bin) == [[*base, "up", "-d", "--no-deps", "master"], ps]
    assert m.restart(45)["status"]["container"] == "st-master-1"
    assert calls(fake_bin)[0] == [*base, "restart", "-t", "45", "master"]
    assert m.stop(45)["status"]["state"] == "stopped"
    assert calls(fake_bin)[0] == [*base, "stop", "-t", "45", "master"]


def test_compose_ps_as_one_json_array_from_older_compose():
    from agent.managers.compose import _parse_ps

    assert _parse_ps('[{"Name": "a", "State": "running"}]') == [{"Name": "a", "State": "running"}]
    assert _parse_ps('{"Name": "a"}\n{"Name": "b"}\n') == [{"Name": "a"}, {"Name": "b"}]


def test_kubernetes(fake_bin, tmp_path):
    m = manager(
        {
            "manager": "kubernetes",
            "namespace": "etl",
            "kind": "statefulset",
            "name": "seatunnel",
            "replicas": 3,
            "context": "prod",
        },
        tmp_path,
    )
    base = ["kubectl", "--context", "prod", "-n", "etl"]
    get = [*base, "get", "statefulset", "seatunnel", "-o", "json"]
    assert m.status().state == "running"
    assert calls(fake_bin) == [get]
    stopped = m.stop(30)
    assert stopped["status"] == {
        "state": "stopped",
        "pid": None,
        "desired_replicas": 0,
        "ready_replicas": 0,
        "replicas": 0,
    }
    assert calls(fake_bin) == [[*base, "scale", "statefulset/seatunnel", "--replicas=0"], get]
    assert m.start(120)["status"]["ready_replicas"] == 3
    assert calls(fake_bin) == [
        [*base, "scale", "statefulset/seatunnel", "--replicas=3"],
        [*base, "rollout", "status", "statefulset/seatunnel", "--timeout=120s"],
        get,
    ]
    m.restart(90)
    assert calls(fake_bin) == [
        [*base, "rollout", "restart", "statefulset/seatunnel"],
        [*base, "rollout", "status", "statefulset/seatunnel", "--timeout=90s"],
        get,
    ]


def test_a_missing_tool_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    m = manager({"manager": "kubernetes", "name": "seatunnel"}, tmp_path)
    status = m.status()
    assert status.state == "unknown" and "kubectl not found" in status.detail["error"]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"manager": "systemd"}, "unit must be a non-empty string (required)"),
        ({"manager": "systemd", "unit": "x", "scope": "global"}, "scope must be"),
        ({"manager": "compose", "file": "f.yml"}, "service must be"),
        ({"manager": "kubernetes", "name": "x", "kind": "daemonset"}, "kind must be"),
        ({"manager": "kubernetes", "name": "x", "replicas": 0}, "replicas must be"),
        ({"manager": "process", "command": "seatunnel-cluster.sh -d"}, "command must be a non-empty list"),
        ({"manager": "process", "command": ["x"], "log_file": "../x.log"}, "log_file must be a plain file name"),
        ({"manager": "systemd", "unit": "x", "shell": "rm"}, "unknown key 'shell'"),
        ({"manager": "upstart"}, "service.manager: must be one of"),
    ],
)
def test_bad_manager_settings_are_config_errors(table, problem, tmp_path):
    with pytest.raises(config.ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        config.parse({"state_dir": str(tmp_path), "service": table})
