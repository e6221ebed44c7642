"""Real processes for the crash tests: Celery workers, a redis-server of the test's own, and a way to send tasks
to exactly that broker. Nothing here touches the caller's broker or Redis: each test has its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from celery import Celery
from django.db import connection

from controlplane import filesystem_broker
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SECRET = "crash-tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test runs on (the test database), for the worker processes."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"{scheme}://{auth}@{s['HOST']}:{s['PORT'] or {'postgres': 5432, 'mysql': 3306}[scheme]}/{s['NAME']}"


def redis_answers(port: int):  # type: ignore[no-untyped-def]
    """A predicate: the redis-server on ``port`` answers PING."""

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    return answers


class RedisServer:
    """Our own redis-server on a free port, without persistence: a restart loses every queued message."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(redis_answers(self.port), timeout=20, interval=0.05, message="redis-server answering PING")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Broker:
    """Where the workers of one test take their tasks: our redis-server, or a filesystem broker in a private
    data directory (the embedded default)."""

    def __init__(self, data_dir: Path, redis: RedisServer | None) -> None:
        self.data_dir = data_dir
        self.redis = redis
        self.transport_options = filesystem_broker.transport_options(data_dir / "broker")

    def env(self) -> dict[str, str]:
        env = {"CONTROLPLANE_DATA_DIR": str(self.data_dir)}
        if self.redis is not None:
            env["CONTROLPLANE_REDIS_URL"] = self.redis.url
        return env

    def app(self) -> Celery:
        # Never the current app: tasks the rest of this test process queues (.delay) must keep going to the
        # project's broker, not to this test's redis-server, which is gone after the test.
        if self.redis is not None:
            app = Celery("crash-test-sender", broker=self.redis.url, set_as_current=False)
        else:
            # The embedded broker's own transport and folders, as the settings give every process of the control plane.
            app = Celery("crash-test-sender", broker="filesystem://localhost//", set_as_current=False)
            app.conf.broker_transport = filesystem_broker.TRANSPORT
            app.conf.broker_transport_options = self.transport_options
        app.conf.task_serializer = "json"
        return app

    def send(self, name: str, *args: Any) -> bool:
        """Send a task; False when the broker cannot be reached right now."""
        try:
            with self.app() as app:
                app.send_task(name, args=list(args), retry=False)
            return True
        except Exception:  # the broker is down (a Redis restart under way)
            return False


class Worker:
    """``celery worker`` as a real process in its own process group (SIGKILL takes the pool children too)."""

    def __init__(self, name: str, broker: Broker, log: Path, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        env.update(
            CONTROLPLANE_DATABASE_URL=database_url(),
            CONTROLPLANE_SECRET_KEY=SECRET,
            CONTROLPLANE_OPERATION_LEASE_SECONDS="3",
            CONTROLPLANE_OPERATION_RECOVER_INTERVAL_SECONDS="1",
            CONTROLPLANE_OPERATION_RETRY_BASE_SECONDS="0",
            CONTROLPLANE_OPERATION_POLL_MILLISECONDS="200",
            **broker.env(),
            **settings,
        )
        self.log = log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "controlplane",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--pool=prefork",
                "--include=tests.operations.kinds",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if " ready." in self.output():
                return True
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.poll()} before ready:\n{self.output()}")
            return False

        wait_until(ready, timeout=timeout, interval=0.1, message=lambda: f"the worker ready:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL to the whole group: the main process and its pool child, mid-step."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=20)
        self.handle.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        if not self.handle.closed:
            self.handle.close()
