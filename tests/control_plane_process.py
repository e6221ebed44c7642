"""The control plane as deployed, for tests that drive it from outside (e2e and browser tests):
``manage.py runcontrolplane --no-migrate`` (daphne, a Celery worker and beat) on a database of its own, with short
intervals, and probes (``python -m tests.e2e.probe …``) run in its environment to set it up and look inside."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.live.servers import free_port
from tests.private_database import private_database_url
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
PROBE = "tests.e2e.probe"  # create-database, drop-database, setup, …


def private_redis_url(shared: str) -> str:
    """A Redis database of this xdist worker's own (1 + the worker's number), emptied: two control planes started by
    tests at once on one Redis would take each other's Celery tasks (a worker runs a task against its own database,
    where the other's operation does not exist, and that operation never advances)."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    parts = urlsplit(shared)
    url = urlunsplit(parts._replace(path=f"/{1 + int(worker or 0)}"))
    redis.Redis.from_url(url).flushdb()  # what a control plane of an earlier test left queued
    return url


class ControlPlaneProcess:
    def __init__(self, directory: Path, *, purpose: str, settings: dict[str, str]) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        self.env.update(
            DJANGO_SETTINGS_MODULE="controlplane.settings",
            CONTROLPLANE_DATA_DIR=str(directory),
            CONTROLPLANE_DATABASE_URL=private_database_url(directory, purpose),
            CONTROLPLANE_MASTER_KEYS=f"{purpose}:{base64.b64encode(os.urandom(32)).decode()}",
            CONTROLPLANE_LOG_LEVEL="INFO",
            **settings,
        )
        if os.environ.get("CONTROLPLANE_SECRET_KEY"):  # the matrix sets it
            self.env["CONTROLPLANE_SECRET_KEY"] = os.environ["CONTROLPLANE_SECRET_KEY"]
        if os.environ.get("CONTROLPLANE_REDIS_URL"):
            self.env["CONTROLPLANE_REDIS_URL"] = private_redis_url(os.environ["CONTROLPLANE_REDIS_URL"])
        self.server = not self.env["CONTROLPLANE_DATABASE_URL"].startswith("sqlite")
        self.log = directory / "controlplane.log"
        self.process: subprocess.Popen | None = None

    def probe(self, *args: str, module: str = PROBE) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"probe {args} exited {done.returncode}:\n{done.stderr[-4000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def create_database(self) -> None:
        if self.server:
            self.probe("create-database")

    def launch(self) -> None:
        """Start runcontrolplane and wait until the web answers and the worker is ready."""
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runcontrolplane", "--no-migrate", "--port", str(self.port), "--grace", "10"],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the supervisor and its children in a group of their own
        )
        handle.close()

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, f"runcontrolplane exited:\n{self.output()}"
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=120, interval=0.25, message=lambda: f"the control plane to answer\n{self.output()}")
        wait_until(
            lambda: " ready." in self.output(),
            timeout=120,
            interval=0.25,
            message=lambda: f"the Celery worker to be ready\n{self.output()}",
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-20000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the supervisor stops web, worker and beat
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.server:
            self.probe("drop-database")
