"""The browser tests' world: a Zeta emulator, the control plane as deployed (``manage.py runcontrolplane``: daphne,
a Celery worker and beat) on a private database, and Debian's Chromium driven headless by Playwright (never a
downloaded browser). Screenshots of the pages go to ``var/screenshots/``."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from controlplane.seatunnel.emulator.process import emulator_process
from tests.live.servers import free_port
from tests.private_database import private_database_url
from tests.system_tools import require
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: Playwright never downloads a browser here
SCREENSHOTS = ROOT / "var" / "screenshots"


class ControlPlane:
    """``manage.py runcontrolplane`` (web, worker, beat) with short intervals, and its probe."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        self.env.update(
            DJANGO_SETTINGS_MODULE="controlplane.settings",
            CONTROLPLANE_DATA_DIR=str(directory),
            CONTROLPLANE_DATABASE_URL=private_database_url(directory, "browser"),
            CONTROLPLANE_MASTER_KEYS=f"browser:{base64.b64encode(os.urandom(32)).decode()}",
            CONTROLPLANE_LOG_LEVEL="INFO",
            CONTROLPLANE_RUN_SYNC_INTERVAL_SECONDS="1",
            CONTROLPLANE_HEALTH_INTERVAL_SECONDS="2",
        )
        for inherited in ("CONTROLPLANE_REDIS_URL", "CONTROLPLANE_SECRET_KEY"):  # the matrix sets them
            if os.environ.get(inherited):
                self.env[inherited] = os.environ[inherited]
        self.server = not self.env["CONTROLPLANE_DATABASE_URL"].startswith("sqlite")
        self.log = directory / "controlplane.log"
        self.process: subprocess.Popen | None = None

    def probe(self, module: str, *args: str) -> Any:
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

    def runs(self, job_id: str) -> list[dict]:
        return self.probe("tests.console.browser.probe", "runs", job_id)

    def start(self, zeta_url: str) -> None:
        if self.server:
            self.probe("tests.e2e.probe", "create-database")
        self.setup = self.probe("tests.console.browser.probe", "setup", zeta_url, self.password)
        # collectstatic (the console's script and the theme's files) as `make run` does; then the processes.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=self.env, check=True
        )
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
            self.probe("tests.e2e.probe", "drop-database")


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    require("chromium")  # Debian's: skipped on a workstation without it, failed under CI=true
    with emulator_process("--version", "2.3.12") as zeta:
        plane = ControlPlane(tmp_path_factory.mktemp("console-browser"))
        try:
            plane.start(zeta.url)
            yield plane
        finally:
            plane.stop()


@pytest.fixture(scope="module")
def browser(control_plane: ControlPlane) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
