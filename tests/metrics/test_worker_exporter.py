"""CONTROLPLANE_WORKER_METRICS_PORT: a real Celery worker serves the counters of its pod's processes, with the token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from controlplane.instruments import MULTIPROC_ENV, prepare_multiprocess_dir
from tests.metrics.scrape import value
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "worker-scrape-0123456789"
COUNT = "from controlplane import instruments; instruments.count_notification('wecom', delivered=True)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(120)
def test_a_worker_serves_the_counters_of_its_pods_processes(tmp_path: Path) -> None:
    metrics_dir = prepare_multiprocess_dir(tmp_path / "metrics")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
    env.update(
        {
            "CONTROLPLANE_DATA_DIR": str(tmp_path / "data"),
            "CONTROLPLANE_WORKER_METRICS_PORT": str(port),
            "CONTROLPLANE_METRICS_TOKEN": TOKEN,
            MULTIPROC_ENV: str(metrics_dir),
            "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        }
    )
    # another process of the pod (a prefork child, say) counts a delivery
    subprocess.run([sys.executable, "-c", COUNT], env=env, cwd=ROOT, check=True, timeout=60)
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "controlplane", "worker", "--pool=solo", "--without-mingle",
            "--without-gossip", "--without-heartbeat", "-l", "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"

    def answers() -> httpx.Response | None:
        assert worker.poll() is None, "the worker exited"
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            return None

    try:
        first = wait_until(answers, timeout=60, message=f"the worker's {url}")
        assert first.status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer nope-nope-nope-nope"}, timeout=5).status_code == 401
        scraped = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert scraped.status_code == 200
        assert value(scraped.text, "controlplane_notification_deliveries_total", channel_kind="wecom") == 1
        assert "controlplane_runs" not in scraped.text  # the row counts are the web's to serve
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=5).status_code == 404
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
