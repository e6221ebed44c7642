"""Real processes on the embedded broker of a private data directory: a Celery worker and beat running
tests/broker/recorder.py, and producers (``python -m tests.broker.recorder produce``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A child in its own process group, its output in ``<data dir>/<name>.log``."""

    def __init__(self, name: str, argv: list[str], data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        env.update(
            CONTROLPLANE_DATA_DIR=str(data_dir),
            DJANGO_SETTINGS_MODULE="controlplane.settings",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        self.name = name
        self.log = data_dir / f"{name}.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def exited(self) -> bool:
        return not self.alive()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (Celery's warm shutdown), then the exit code."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"{self.name} did not stop on SIGTERM:\n{self.output()}") from None


def worker(data_dir: Path) -> Process:
    # The flags runcontrolplane gives the control plane's worker.
    argv = [sys.executable, "-m", "celery", "-A", "tests.broker.recorder", "worker", "--pool=solo"]
    argv += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "info"]
    return Process("worker", argv, data_dir)


def beat(data_dir: Path) -> Process:
    argv = [sys.executable, "-m", "celery", "-A", "tests.broker.recorder", "beat"]
    argv += ["--schedule", str(data_dir / "celerybeat-schedule"), "-l", "info"]
    return Process("beat", argv, data_dir)


def producer(data_dir: Path, source: str, count: int) -> Process:
    argv = [sys.executable, "-m", "tests.broker.recorder", "produce", source, str(count)]
    return Process(f"producer-{source}", argv, data_dir)


def wait_ready(process: Process, timeout: float = 90) -> None:
    def ready() -> bool:
        if " ready." in process.output():
            return True
        if process.exited():
            raise AssertionError(f"{process.name} exited with {process.process.poll()}:\n{process.output()}")
        return False

    wait_until(ready, timeout=timeout, interval=0.1, message=lambda: f"{process.name} ready:\n{process.output()}")
