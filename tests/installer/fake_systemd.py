"""A fake `systemctl` for the installer's systemd form: no systemd runs here (PID 1 is not systemd), so tests put
this script first on PATH. It records each argv (`calls.jsonl`) and behaves like systemd where the installer
depends on it:

- `show --property=Version` (no unit) answers with systemd's version, as a running manager does;
- `daemon-reload` loads the unit files of the unit directory; `start`/`enable` use the *loaded* definition, so a
  unit written without a reload is "not found" and a changed one runs its old text, as in systemd;
- `start` runs the unit's `ExecStart=` with its `Environment=` and `WorkingDirectory=` in a new session (the
  engine of the fake distribution really starts, from the unit's own lines); `stop` sends SIGTERM to that
  session's group and waits (pidfd, no polling) for the main process to exit;
- `show <unit> --property=...` answers LoadState, ActiveState (`active`, `inactive`, or `failed` when the main
  process exited without a stop), SubState and MainPID.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

SCRIPT = r"""#!PYTHON
import json, os, select, shlex, signal, subprocess, sys
from pathlib import Path

here = Path(__file__).resolve().parent
with open(here / "calls.jsonl", "a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\n")
config = json.loads((here / "fake-systemd.json").read_text())
state_file = here / "state.json"
state = json.loads(state_file.read_text()) if state_file.exists() else {"loaded": {}, "units": {}}

def save():
    state_file.write_text(json.dumps(state))

def alive(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"

def not_found(unit, verb):
    print(f"Failed to {verb} {unit}: Unit {unit} not found.", file=sys.stderr)
    sys.exit(5)

def parse(text):
    values = {"Environment": []}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            if key == "Environment":
                values["Environment"].append(value)
            else:
                values[key] = value
    return values

args = [a for a in sys.argv[1:] if not a.startswith("--") or a.startswith("--property")]
verb = args[0]
if verb == "show" and len(args) == 2:
    print("Version=252 (252.38-1~deb12u1)")
elif verb == "daemon-reload":
    directory = Path(config["unit_dir"])
    state["loaded"] = {p.name: p.read_text() for p in directory.glob("*.service")} if directory.is_dir() else {}
    save()
elif verb in ("enable", "disable"):
    unit = args[1]
    if unit not in state["loaded"]:
        not_found(unit, verb)
    state["units"].setdefault(unit, {})["enabled"] = verb == "enable"
    save()
elif verb == "start":
    unit = args[1]
    if unit not in state["loaded"]:
        not_found(unit, "start")
    record = state["units"].setdefault(unit, {})
    if not (record.get("pid") and alive(record["pid"])):
        lines = parse(state["loaded"][unit])
        env = {"PATH": os.environ["PATH"]}
        env.update(dict(item.split("=", 1) for item in lines["Environment"]))
        with open(here / f"{unit}.log", "ab") as log:
            child = subprocess.Popen(shlex.split(lines["ExecStart"]), cwd=lines.get("WorkingDirectory"), env=env,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        record.update(pid=child.pid, stopped=False)
        save()
elif verb == "stop":
    unit = args[1]
    record = state["units"].get(unit, {})
    pid = record.get("pid")
    if pid and alive(pid):
        fd = os.pidfd_open(pid)
        os.killpg(pid, signal.SIGTERM)
        select.select([fd], [], [], 60)
    record.update(pid=0, stopped=True)
    state["units"][unit] = record
    save()
elif verb == "show":
    unit = args[1]
    record = state["units"].get(unit, {})
    if unit not in state["loaded"]:
        print("LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0")
        sys.exit(0)
    pid = record.get("pid") or 0
    if pid and alive(pid):
        active, sub = "active", "running"
    elif pid and not record.get("stopped"):
        active, sub, pid = "failed", "failed", 0
    else:
        active, sub, pid = "inactive", "dead", 0
    print(f"LoadState=loaded\nActiveState={active}\nSubState={sub}\nMainPID={pid}")
else:
    print(f"fake systemctl: unknown verb {verb}", file=sys.stderr)
    sys.exit(1)
"""


class FakeSystemd:
    def __init__(self, bindir: Path, unit_dir: Path) -> None:
        self.bindir = bindir
        self.unit_dir = unit_dir
        bindir.mkdir(parents=True, exist_ok=True)
        script = bindir / "systemctl"
        script.write_text(SCRIPT.replace("PYTHON", sys.executable, 1))
        script.chmod(0o755)
        (bindir / "fake-systemd.json").write_text(json.dumps({"unit_dir": str(unit_dir)}))

    def calls(self) -> list[list[str]]:
        """The argv of each call since the last look (then forgotten)."""
        path = self.bindir / "calls.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        path.unlink(missing_ok=True)
        return [json.loads(line) for line in lines]

    def state(self) -> dict:
        path = self.bindir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {"loaded": {}, "units": {}}

    def kill_all(self) -> None:
        """Teardown: end whatever a unit still runs (a failed test may leave one)."""
        for record in self.state()["units"].values():
            pid = record.get("pid")
            if pid:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
