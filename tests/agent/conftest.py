"""Fixtures for the agent's tests: a fake control plane (fakecp.py) and an in-process agent against it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import config as agent_config
from agent import daemon
from agent.state import StateDir
from tests.agent.fakecp import FakeControlPlane

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


@pytest.fixture
def cp() -> Iterator[FakeControlPlane]:
    server = FakeControlPlane().start()
    yield server
    server.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A SeaTunnel home with the layout of the bin tarball (ZETA_FACTS §4.2), small."""
    root = tmp_path / "apache-seatunnel-2.3.12"
    for sub in ("config", "connectors", "lib", "logs", "starter", "bin"):
        (root / sub).mkdir(parents=True)
    (root / "connectors" / "connector-fake-2.3.12.jar").write_bytes(b"PK fake")
    (root / "connectors" / "connector-console-2.3.12.jar").write_bytes(b"PK console")
    (root / "starter" / "seatunnel-starter.jar").write_bytes(b"PK starter")
    (root / "config" / "seatunnel.yaml").write_text(
        "seatunnel:\n  engine:\n    http:\n      enable-http: true\n      port: 8080\n"
        "      enable-basic-auth: true\n      basic-auth-username: admin\n      basic-auth-password: hunter2\n"
    )
    (root / "config" / "hazelcast.yaml").write_text(
        "hazelcast:\n  cluster-name: seatunnel\n  network:\n    rest-api:\n      enabled: false\n"
        "  map:\n    engine*:\n      map-store:\n        properties:\n          fs.s3a.secret.key: S3SECRET\n"
    )
    (root / "config" / "job.conf").write_text(
        'source { Jdbc { url = "jdbc:mysql://root:dbpass@db:3306/x", password = "dbpass", query = "select 1" } }\n'
    )
    (root / "logs" / "seatunnel-engine-server.log").write_text("".join(f"line {i}\n" for i in range(1, 1001)))
    return root


class AgentHarness:
    def __init__(self, cp: FakeControlPlane, state_dir: Path, raw_config: dict[str, Any]) -> None:
        raw = {"server": cp.url, "state_dir": str(state_dir), **raw_config}
        self.config = agent_config.parse(raw)
        self.state = StateDir(self.config.state_dir)
        self.state.prepare()
        credential = self.state.load_credential()
        if credential is None:
            credential = daemon.register(self.config, self.state, cp.url, "stbt_good", threading.Event())
        self.agent = daemon.Agent(self.config, self.state, credential)
        self.thread: threading.Thread | None = None
        self.code: int | None = None

    def start(self) -> AgentHarness:
        def run() -> None:
            self.code = self.agent.run()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.agent.stop()
        if self.thread is not None:
            self.thread.join(timeout=30)


@pytest.fixture
def make_agent(cp: FakeControlPlane, tmp_path: Path) -> Iterator[Any]:
    made: list[AgentHarness] = []

    def make(raw_config: dict[str, Any] | None = None, state_dir: Path | None = None) -> AgentHarness:
        harness = AgentHarness(cp, state_dir or tmp_path / "state", raw_config or {})
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.stop()
        for manager in (harness.agent.service, harness.agent.worker):
            if manager is not None and manager.kind == "process":
                manager.stop(10)
