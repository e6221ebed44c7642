"""Real processes for the live tests and the benchmark: daphne serving controlplane.asgi, and a redis-server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx
from django.db import connection
from websockets.sync.client import connect

from controlplane.live import admission
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this process uses now (the test database inside a test)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    port = s["PORT"] or {"postgres": 5432, "mysql": 3306}[scheme]
    return f"{scheme}://{auth}@{s['HOST'] or '127.0.0.1'}:{port}/{s['NAME']}"


class Daphne:
    """``daphne controlplane.asgi:application`` on a free port, on this process's database."""

    def __init__(self, *, redis_url: str | None, poll_ms: int | None = None, database: str | None = None) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        env.update(
            CONTROLPLANE_DATABASE_URL=database or database_url(),
            CONTROLPLANE_DATA_DIR=os.environ.get("CONTROLPLANE_DATA_DIR", str(ROOT / "var")),
            CONTROLPLANE_LOG_LEVEL="WARNING",
        )
        for name in ("CONTROLPLANE_SECRET_KEY", "CONTROLPLANE_DATA_DIR"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        if redis_url:
            env["CONTROLPLANE_REDIS_URL"] = redis_url
        if poll_ms is not None:
            env["CONTROLPLANE_LIVE_POLL_MILLISECONDS"] = str(poll_ms)
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "controlplane.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.output()}")
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=60, interval=0.1, message=lambda: f"daphne to start:\n{self.output()}")

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class RedisServer:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", str(directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until(answers, timeout=20, interval=0.05, message="redis-server answering PING")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


class Follower(threading.Thread):
    """A websocket client on its own thread: follows a topic, drops the connection after each count in
    ``drops_after`` messages, and resumes from the last position it saw, until it has ``want`` messages."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        want: int,
        drops_after: tuple[int, ...] = (),
        start_after: int | None = None,
        wait: float = 30,
    ) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.token = token
        self.received: list[dict] = []
        self.connections = 0
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self.want = want
        self.drops_after = drops_after
        self.start_after = start_after  # a position to begin after (else: what commits after the first handshake)
        self.wait = wait

    def run(self) -> None:
        try:
            while len(self.received) < self.want:
                last = self.received[-1]["position"] if self.received else self.start_after
                after = f"?after={last}" if last is not None else ""
                with connect(
                    self.url + after,
                    subprotocols=[admission.PROTOCOL, f"{admission.BEARER_PROTOCOL_PREFIX}{self.token}"],
                    open_timeout=self.wait,
                ) as socket:
                    self.connections += 1
                    self.connected.set()
                    while len(self.received) < self.want:
                        self.received.append(json.loads(socket.recv(timeout=self.wait)))
                        if len(self.received) in self.drops_after:
                            break  # leave mid-stream and come back at once; the writer keeps appending
        except BaseException as exc:  # reported by the test
            self.error = exc
