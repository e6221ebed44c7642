"""Everything the control plane writes under its data directory is 0600 (files) / 0700 (directories), even when
it is started with a permissive umask (0o022): a real `runcontrolplane` (migrate, collectstatic, daphne, a Celery
worker and beat on the on-disk broker), then a process that leaves a broker message and an artifact behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.console.test_runcontrolplane import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PERMISSIVE = 0o022


def loose(data_dir: Path) -> list[str]:
    """Every path under data_dir (itself included) that group or others may use."""
    found = []
    for directory, _, files in os.walk(data_dir):
        for path in [directory, *(os.path.join(directory, name) for name in files)]:
            try:
                mode = stat.S_IMODE(os.lstat(path).st_mode)
            except FileNotFoundError:  # a broker message taken meanwhile
                continue
            if mode & 0o077:
                found.append(f"{oct(mode)} {os.path.relpath(path, data_dir)}")
    return found


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
    env.update(CONTROLPLANE_DATA_DIR=str(data_dir), CONTROLPLANE_SUBSCRIPTION_INTERVAL_SECONDS="1")
    return env


class Output:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        self.reader.start()

    def wait_for(self, text: str, timeout: float = 90) -> None:
        def seen() -> bool:
            if any(text in line for line in list(self.lines)):
                return True
            if self.proc.poll() is not None:
                pytest.fail(f"exited with {self.proc.returncode} before {text!r}:\n{''.join(self.lines)}")
            return False

        wait_until(seen, timeout=timeout, interval=0.1, message=lambda: f"{text!r} in:\n{''.join(self.lines)}")


@pytest.mark.timeout(240)
def test_data_directory_is_private_under_a_permissive_umask(tmp_path):
    data_dir = tmp_path / "data"
    # loose on purpose: what an older release that ran under umask 022 left behind
    data_dir.mkdir()
    os.chmod(data_dir, 0o755)  # noqa: S103
    (data_dir / "old").mkdir()
    os.chmod(data_dir / "old", 0o755)  # noqa: S103
    (data_dir / "old" / "notes.txt").write_text("x")
    os.chmod(data_dir / "old" / "notes.txt", 0o644)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runcontrolplane", "--port", str(port)],
        cwd=ROOT,
        env=environment(data_dir),
        umask=PERMISSIVE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out = Output(proc)
    try:
        out.wait_for("ready: http://")
        # beat -> a broker message file -> the worker: the embedded broker and beat's schedule are in use
        out.wait_for("Task eventlog.run_subscriptions[", timeout=60)
        # a write through daphne (a failed login is audited): the database has its WAL and SHM files open
        answer = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token/", json={"username": "nobody", "password": "x"}, timeout=10
        )
        assert answer.status_code == 401
        db = data_dir / "controlplane.sqlite3"
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), data_dir / "broker" / "queue", data_dir / "secret_key"):
            assert path.exists(), path
        assert list(data_dir.glob("celerybeat-schedule*")), sorted(os.listdir(data_dir))
        assert (data_dir / "static" / "admin" / "css" / "base.css").exists()
        assert loose(data_dir) == []
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # Another process of the control plane, also started under umask 022: a task message waits in the broker
    # (no worker now), and a file an agent uploads lands among the artifacts.
    script = (
        "import hashlib, io\n"
        "from controlplane.agents.filestore import store_artifact\n"
        "from controlplane.celery import app\n"
        "sha = hashlib.sha256(b'bundle bytes').hexdigest()\n"
        "store_artifact(io.BytesIO(b'bundle bytes').read, sha)\n"
        "print(sha)\n"
        "app.send_task('eventlog.run_subscriptions')\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=environment(data_dir),
        umask=PERMISSIVE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    sha = done.stdout.split()[-1]
    assert (data_dir / "artifacts" / sha).exists()
    wait_until(lambda: any((data_dir / "broker" / "queue").iterdir()), message="a message in the broker's queue")
    assert loose(data_dir) == []
