"""A real daphne process serving the control plane on the test database (for the long poll and the bench)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(settings_dict: dict, vendor: str) -> str:
    """A CONTROLPLANE_DATABASE_URL naming the database this process is connected to (the test database)."""
    if vendor == "sqlite":
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[vendor]
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"{scheme}://{auth}{settings_dict['HOST']}{port}/{quote(settings_dict['NAME'], safe='')}"


@dataclass
class Server:
    url: str
    pid: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def threads(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise RuntimeError("no thread count")


@contextmanager
def daphne(
    *, database_url: str, master_key: bytes, data_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """daphne on a free port, sharing the caller's database and master key; stopped (SIGTERM, then KILL) after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
    env.update(
        CONTROLPLANE_DATABASE_URL=database_url,
        CONTROLPLANE_MASTER_KEYS=f"test:{base64.b64encode(master_key).decode()}",
        CONTROLPLANE_DATA_DIR=str(data_dir),
        CONTROLPLANE_LOG_LEVEL="WARNING",
    )
    env.update(extra_env or {})  # may override the above (a test reading DEBUG lines from the output)
    for shared in ("CONTROLPLANE_REDIS_URL", "CONTROLPLANE_SECRET_KEY"):  # the matrix sets them
        if os.environ.get(shared):
            env[shared] = os.environ[shared]
    log_path = data_dir / f"daphne-{port}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "controlplane.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, interval=0.1, message="daphne to answer /healthz")
        yield Server(url=url, pid=proc.pid, log=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
