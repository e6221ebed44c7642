"""`make run` for real: the supervisor, daphne, a Celery worker and beat on a fresh data directory.

Started twice on the same directory (the second start must just work), stopped once with Ctrl-C
(SIGINT to the foreground process group, as a terminal sends it) and once with SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

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

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output, re.MULTILINE)
            if match:
                return match
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} in the output (exit code {self.proc.poll()}):\n{self.output}")
            time.sleep(0.1)

    def get(self, path: str, timeout: float = 30) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = httpx.get(self.base + path, timeout=5)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                response = None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                status = response.status_code if response is not None else "no answer"
                pytest.fail(f"GET {path}: {status}\n{self.output}")
            time.sleep(0.2)

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


def log_in(base: str, password: str) -> httpx.Response:
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
        return client.get("/admin/")


def check_serving(run: Running) -> str:
    password = run.wait_for(r"^admin password: (\S+) ").group(1)
    run.wait_for(rf"^control plane: http://127\.0\.0\.1:{run.port}/ ")
    assert run.get("/healthz").json() == {"status": "ok"}
    ready = run.get("/readyz").json()
    assert ready["status"] == "ready" and ready["broker"] == "filesystem" and ready["database"] == "sqlite"
    # The admin looks right without DEBUG: its stylesheet is served.
    css = run.get("/static/admin/css/base.css")
    assert css.headers["content-type"].startswith("text/css")
    home = log_in(run.base, password)
    assert home.status_code == 200
    assert "Site administration" in home.text
    # beat -> on-disk broker -> worker: the periodic task ran.
    run.wait_for(r"^worker +\| .*Task eventlog\.run_subscriptions\[[^\]]+\] succeeded", timeout=20)
    # The demo cluster is the Zeta emulator on PORT + 80; its jobs were started and a worker submitted them.
    assert set(run.children()) == {"web", "worker", "beat", "zeta"}
    run.wait_for(r"^demo +\| (cluster 'demo-zeta' registered|demo cluster and jobs exist)", timeout=30)
    return password


def demo_runs_settle(run: Running, password: str) -> None:
    """worker submits, beat's sync loop polls the emulator: the demo batch run SUCCEEDS, the stream RUNS."""
    token = httpx.post(
        f"{run.base}/api/v1/auth/token/", json={"username": "admin", "password": password}, timeout=10
    ).json()["access"]
    deadline = time.monotonic() + 40
    while True:
        runs = httpx.get(
            f"{run.base}/api/v1/tenants/demo/workspaces/default/runs/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["results"]
        states = {r["engine_job_name"].rsplit("-", 1)[0]: r["state"] for r in runs}  # "<job name>-<run id[:8]>"
        if states == {"demo-fake-to-console": "SUCCEEDED", "demo-stream": "RUNNING"}:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"demo runs did not settle: {states}\n{run.output}")
        time.sleep(0.5)


@pytest.mark.timeout(150)
def test_run_twice_on_one_data_dir_and_stop_cleanly(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()

    first = Running(data_dir, port)
    try:
        password = check_serving(first)
        first.wait_for(r"^worker +\| .*Task jobs\.submit_run\[[^\]]+\] succeeded", timeout=30)
        demo_runs_settle(first, password)
        children = first.children()
        assert first.stop(signal.SIGINT) == 0, first.output
    finally:
        first.kill()
    assert "SIGINT received; stopping" in first.output
    assert all(gone(pid) for pid in children.values()), children
    for name in children:
        assert re.search(rf"^control +\| {name} exited with code 0$", first.output, re.MULTILINE), first.output
    assert (data_dir / "demo-admin-password").read_text().strip() == password

    second = Running(data_dir, port)
    try:
        assert check_serving(second) == password
        assert "demo: user 'admin' exists" in second.output
        second.wait_for(r"^demo +\| demo cluster and jobs exist")
        children = second.children()
        assert second.stop(signal.SIGTERM) == 0, second.output
    finally:
        second.kill()
    assert all(gone(pid) for pid in children.values()), children


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
