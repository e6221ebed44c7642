"""`make run` for real: the supervisor, daphne, a Celery worker, beat and the demo's node agent (which runs the
Zeta emulator as its SeaTunnel service) on a fresh data directory.

Started twice on the same directory (the second start must just work, and the agent reuses the credential it
got on the first), stopped once with Ctrl-C (SIGINT to the foreground process group, as a terminal sends it)
and once with SIGTERM; each time the agent stops its emulator.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
# The same command line as the Makefile's `run` target (checked below).
COMMAND = ["manage.py", "runcontrolplane", "--seed-demo"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Running:
    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        # The embedded default, whatever the caller's environment (the test matrix sets PostgreSQL and Redis).
        env.update(
            CONTROLPLANE_DATA_DIR=str(data_dir),
            CONTROLPLANE_SUBSCRIPTION_INTERVAL_SECONDS="1",
            CONTROLPLANE_RUN_SYNC_INTERVAL_SECONDS="1",
        )
        env["PORT"] = str(port)
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, *COMMAND],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own foreground group, like a terminal's
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def _alive(self, what: str) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"exited with {self.proc.poll()} while waiting for {what}:\n{self.output}")

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        def found() -> re.Match | None:
            match = re.search(pattern, self.output, re.MULTILINE)
            if not match:
                self._alive(repr(pattern))
            return match

        return wait_until(found, timeout=timeout, interval=0.1, message=lambda: f"{pattern!r} in:\n{self.output}")

    def get(self, path: str, timeout: float = 30) -> httpx.Response:
        last: list[str] = ["no answer"]

        def answered() -> httpx.Response | None:
            try:
                response = httpx.get(self.base + path, timeout=5)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return response
            last[0] = str(response.status_code) if response is not None else "no answer"
            self._alive(f"GET {path}")
            return None

        return wait_until(
            answered, timeout=timeout, interval=0.2, message=lambda: f"GET {path}: 200, last {last[0]}\n{self.output}"
        )

    def children(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", self.output)}

    def stop(self, sig: int) -> int:
        os.killpg(self.proc.pid, sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running 30 s after {signal.Signals(sig).name}:\n{self.output}")
        self.reader.join(timeout=5)
        return code

    def kill(self) -> None:
        for pid in [self.proc.pid, *self.children().values()]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def log_in(base: str, password: str, then: str = "/admin/") -> httpx.Response:
    with httpx.Client(base_url=base, timeout=10) as client:
        form = client.get("/admin/login/")
        assert form.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        answer = client.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": "admin", "password": password, "next": "/admin/"},
        )
        assert answer.status_code == 302, answer.text[:2000]
        assert answer.headers["location"] == "/admin/"
        return client.get(then, follow_redirects=True)


def check_serving(run: Running) -> str:
    password = run.wait_for(r"^admin password: (\S+) ").group(1)
    run.wait_for(rf"^control plane: http://127\.0\.0\.1:{run.port}/ ")
    assert run.get("/healthz").json() == {"status": "ok"}
    ready = run.get("/readyz").json()
    assert ready["status"] == "ready" and ready["broker"] == "filesystem" and ready["database"] == "sqlite"
    # The admin looks right without DEBUG: its stylesheet is served.
    css = run.get("/static/admin/css/base.css")
    assert css.headers["content-type"].startswith("text/css")
    # The console's script too; the admin's index is the dashboard of the demo tenant.
    script = run.get("/static/console/console.js").headers["content-type"]
    assert script in ("text/javascript", "application/javascript")
    home = log_in(run.base, password)
    assert home.status_code == 200 and str(home.url).endswith("/admin/console/")
    assert "SeaTunnel Control Plane" in home.text and "Demo" in home.text
    # beat -> on-disk broker -> worker: the periodic task ran.
    run.wait_for(r"^worker +\| .*Task eventlog\.run_subscriptions\[[^\]]+\] succeeded", timeout=20)
    # The demo cluster is the Zeta emulator on PORT + 80, run by the agent; its jobs were started.
    assert set(run.children()) == {"web", "worker", "beat", "agent"}
    run.wait_for(r"^demo +\| (cluster 'demo-zeta' registered|demo cluster and jobs exist)", timeout=30)
    return password


def api(run: Running, password: str, path: str) -> dict:
    token = httpx.post(
        f"{run.base}/api/v1/auth/token/", json={"username": "admin", "password": password}, timeout=10
    ).json()["access"]
    answer = httpx.get(
        f"{run.base}/api/v1/tenants/demo/workspaces/default/{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def check_agent(run: Running, password: str, data_dir: Path) -> tuple[str, int]:
    """The agent is online (it heartbeated during this start), supervises the emulator that serves the demo
    cluster, and the cluster's node lists it. Returns the agent id and the emulator's pid."""
    zeta = f"http://127.0.0.1:{run.port + 80}"
    online = rf"^demo +\| agent (\w+) online on \S+: supervises the emulator at {re.escape(zeta)} as member "
    agent_id = run.wait_for(online + r"127\.0\.0\.1:5801$", timeout=60).group(1)
    # Then the demo polls the cluster once (not waiting for beat's interval), so its node shows at once.
    run.wait_for(r"^demo +\| cluster 'demo-zeta' polled: members 127\.0\.0\.1:5801$")
    state = data_dir / "demo-agent" / "state"
    assert json.loads((state / "credential.json").read_text())["agent_id"] == agent_id
    assert oct((state / "credential.json").stat().st_mode & 0o777) == "0o600"
    emulator = json.loads((state / "service.pid").read_text())["pid"]
    assert not gone(emulator) and emulator not in run.children().values()  # the agent's child, not ours
    assert httpx.get(f"{zeta}/overview", timeout=5).status_code == 200
    agents = api(run, password, "agents/")["results"]
    assert [(a["id"], a["status"], a["member_address"]) for a in agents] == [(agent_id, "online", "127.0.0.1:5801")]
    cluster = next(c for c in api(run, password, "clusters/")["results"] if c["name"] == "demo-zeta")
    assert cluster["endpoints"] == [zeta]
    nodes = api(run, password, f"clusters/{cluster['id']}/nodes/")
    nodes = nodes["results"] if isinstance(nodes, dict) else nodes
    assert [(n["address"], n["agent"]["id"], n["agent"]["status"]) for n in nodes] == [
        ("127.0.0.1:5801", agent_id, "online")
    ]
    # What the agent reports of the node's SeaTunnel home: the JDBC connector, and no JDBC driver in lib/.
    (installed,) = api(run, password, f"clusters/{cluster['id']}/plugins/")["installed"]
    assert installed["agent_id"] == agent_id and installed["seatunnel_home"] == str(
        data_dir / "demo-agent" / "seatunnel"
    )
    assert installed["plugins"]["source"] == ["FakeSource", "Jdbc"], installed
    assert not any("mysql" in name for name in installed["lib_jars"]), installed
    # The console (the admin) lists it online.
    page = log_in(run.base, password, then="/admin/agents/agent/")
    assert page.status_code == 200
    row = re.search(r'<tr class="data-row[^>]*>.*?</tr>', page.text, re.DOTALL).group(0)
    assert "127.0.0.1:5801" in row and re.search(r">\s*online\s*<", row), row
    return agent_id, emulator


def check_stopped(run: Running, children: dict[str, int], emulator: int) -> None:
    assert all(gone(pid) for pid in children.values()), children
    for name in children:
        assert re.search(rf"^control +\| {name} exited with code 0$", run.output, re.MULTILINE), run.output
    assert re.search(r"^agent +\| .* service stopped with the agent \(SIGTERM\)$", run.output, re.MULTILINE)
    assert gone(emulator), run.output


def demo_runs_settle(run: Running, password: str) -> None:
    """worker submits, beat's sync loop polls the emulator: the demo batch run SUCCEEDS, the stream RUNS, the job
    without its JDBC driver FAILS."""
    token = httpx.post(
        f"{run.base}/api/v1/auth/token/", json={"username": "admin", "password": password}, timeout=10
    ).json()["access"]
    states: dict[str, str] = {}

    def settled() -> bool:
        runs = httpx.get(
            f"{run.base}/api/v1/tenants/demo/workspaces/default/runs/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["results"]
        states.clear()
        states.update({r["engine_job_name"].rsplit("-", 1)[0]: r["state"] for r in runs})  # "<job name>-<run id[:8]>"
        return states == {"demo-fake-to-console": "SUCCEEDED", "demo-stream": "RUNNING", "demo-jdbc-orders": "FAILED"}

    wait_until(settled, timeout=40, interval=0.5, message=lambda: f"the demo runs to settle: {states}\n{run.output}")


def check_alert_and_finding(run: Running, password: str) -> None:
    """The failed demo run fired the demo's alert rule, and the demo's diagnosis of it found its known fault."""
    diagnosis = run.wait_for(r"^demo +\| operation (\w+) requested: diagnose the failed run (\w+)$", timeout=60)
    archive_id, run_id = diagnosis.group(1), diagnosis.group(2)
    run.wait_for(rf"^demo +\| operation {archive_id} SUCCEEDED, \d+/\d+ steps$", timeout=60)
    run.wait_for(rf"^demo +\| diagnostic archive {archive_id}: \d+ finding\(s\), first jdbc_driver_missing$")
    findings = api(run, password, f"findings/?run_id={run_id}")["results"]
    assert findings and findings[0]["fingerprint_id"] == "jdbc_driver_missing", findings
    job_id = api(run, password, f"runs/{run_id}/")["job_id"]
    alerts = api(run, password, "alerts/?state=firing")["results"]
    assert [(a["rule_name"], a["labels"]["job"]) for a in alerts] == [("demo: a run failed", job_id)], alerts


@pytest.mark.timeout(150)
def test_run_twice_on_one_data_dir_and_stop_cleanly(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()

    first = Running(data_dir, port)
    try:
        password = check_serving(first)
        assert re.search(r"^demo agent: .*; registers with a one-time bootstrap token", first.output, re.MULTILINE)
        first.wait_for(r"^demo +\| bootstrap token \w+ issued for the demo agent")
        agent_id, emulator = check_agent(first, password, data_dir)
        # One finished operation for a newcomer to look at: the worker ran it through the agent.
        operation_id = first.wait_for(r"^demo +\| operation (\w+) SUCCEEDED, 1/1 steps$", timeout=60).group(1)
        operation = api(first, password, f"operations/{operation_id}/")
        assert (operation["type"], operation["state"]) == ("run_action", "SUCCEEDED")
        step = operation["steps"][0]
        assert (step["runs_in"], step["state"], step["targets"][0]["agent_id"]) == ("agent", "SUCCEEDED", agent_id)
        first.wait_for(r"^worker +\| .*Task jobs\.submit_run\[[^\]]+\] succeeded", timeout=30)
        demo_runs_settle(first, password)
        check_alert_and_finding(first, password)
        children = first.children()
        assert first.stop(signal.SIGINT) == 0, first.output
    finally:
        first.kill()
    assert "SIGINT received; stopping" in first.output
    check_stopped(first, children, emulator)
    assert (data_dir / "demo-admin-password").read_text().strip() == password
    assert not (data_dir / "demo-agent" / "bootstrap-token").exists()  # spent, and removed

    second = Running(data_dir, port)
    try:
        assert check_serving(second) == password
        assert "demo: user 'admin' exists" in second.output
        assert f"; registered as agent {agent_id}; reuses its credential" in second.output
        second.wait_for(r"^demo +\| demo cluster and jobs exist")
        # Online again under the same id, without a new token or a second registration (check_agent: one agent).
        assert check_agent(second, password, data_dir)[0] == agent_id
        assert "bootstrap token" not in second.output
        second.wait_for(r"^demo +\| demo operation exists$")
        children = second.children()
        emulator = json.loads((data_dir / "demo-agent" / "state" / "service.pid").read_text())["pid"]
        assert second.stop(signal.SIGTERM) == 0, second.output
    finally:
        second.kill()
    check_stopped(second, children, emulator)


def test_a_port_in_use_is_reported_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        env["CONTROLPLANE_DATA_DIR"] = str(tmp_path)
        result = subprocess.run(
            [sys.executable, *COMMAND, "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "started" not in result.stdout


def test_make_run_uses_this_command():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert " ".join(COMMAND) in recipe


@pytest.mark.timeout(150)
def test_a_killed_worker_comes_back_while_the_web_keeps_answering(tmp_path):
    run = Running(tmp_path / "data", free_port())
    try:
        password = run.wait_for(r"^admin password: (\S+) ").group(1)
        # The ready block: framed, with the console's address and the demo login; no noise around it.
        run.wait_for(rf"^\| ready: http://127\.0\.0\.1:{run.port}/ +\|$")
        run.wait_for(rf"^\|   log in    admin / {re.escape(password)}  \(stored in ")
        run.wait_for(r"^worker +\| .*Task eventlog\.run_subscriptions\[[^\]]+\] succeeded", timeout=30)
        worker = run.children()["worker"]
        os.kill(worker, signal.SIGKILL)
        run.wait_for(
            r"^control \| worker was killed by SIGKILL after [\d.]+ (s|min \d+ s); restarting it in 1 s, "
            r"at \d\d:\d\d:\d\d \(attempt 1\)$"
        )
        assert run.get("/healthz").json() == {"status": "ok"}  # the web did not go down with it
        run.wait_for(r"^control \| restarted worker \(pid \d+\), attempt 1$")
        assert run.children()["worker"] != worker and gone(worker)
        # The new worker takes tasks again: beat's next ticks reach it through the on-disk broker.
        restarted_at = run.output.index("restarted worker")
        task_done = re.compile(r"^worker +\| .*Task eventlog\.run_subscriptions\[[^\]]+\] succeeded", re.MULTILINE)
        wait_until(
            lambda: task_done.search(run.output, restarted_at),
            timeout=30,
            message=lambda: f"a task run by the restarted worker in:\n{run.output}",
        )
        children = run.children()
        assert run.stop(signal.SIGINT) == 0, run.output
    finally:
        run.kill()
    assert all(gone(pid) for pid in children.values())
    for noise in ("SecurityWarning", "superuser privileges", "HTTP Request:", " -------------- [queues]"):
        assert noise not in run.output
