"""The browser tests' world: a Zeta emulator, the control plane as deployed (``manage.py runcontrolplane``: daphne,
a Celery worker and beat) on a private database, and Debian's Chromium driven headless by Playwright (never a
downloaded browser). Screenshots of the pages go to ``var/screenshots/``."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.seatunnel.emulator.process import emulator_process
from tests.control_plane_process import ControlPlaneProcess
from tests.system_tools import require

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: Playwright never downloads a browser here
SCREENSHOTS = ROOT / "var" / "screenshots"
BROWSER_PROBE = "tests.console.browser.probe"


class ControlPlane(ControlPlaneProcess):
    """The control plane with short intervals; ``start`` sets up the browser tests' tenant and users
    (``tests/console/browser/probe.py``) and collects the static files, as ``make run`` does."""

    def __init__(self, directory: Path) -> None:
        super().__init__(
            directory,
            purpose="browser",
            settings={"CONTROLPLANE_RUN_SYNC_INTERVAL_SECONDS": "1", "CONTROLPLANE_HEALTH_INTERVAL_SECONDS": "2"},
        )
        self.password = secrets.token_urlsafe(16)

    def runs(self, job_id: str) -> list[dict]:
        return self.probe("runs", job_id, module=BROWSER_PROBE)

    def start(self, zeta_url: str) -> None:
        self.create_database()
        self.setup = self.probe("setup", zeta_url, self.password, module=BROWSER_PROBE)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=self.env, check=True
        )
        self.launch()


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
    yield from launched_chromium()


def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, for the length of a module."""
    from playwright.sync_api import sync_playwright

    require("chromium")
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
