"""Multiprocess mode: counters written by other processes (as web, worker and beat do under the launcher) are summed
by /metrics; a new start empties the directory of the previous run's files (ADR 0028)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from controlplane.instruments import MULTIPROC_ENV, prepare_multiprocess_dir
from tests.metrics.scrape import scrape_text, value

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# A process of the control plane that counts: three requests of one route, one event, then it exits.
CHILD = """
import sys
from controlplane import instruments
for _ in range(int(sys.argv[1])):
    instruments.HTTP_REQUESTS.labels("api/v1/ping/", "GET", "200").inc()
instruments.EVENTS_APPENDED.labels("jobs").inc()
instruments.count_notification("dingtalk", delivered=False)
"""


def _count_in_child(directory: Path, times: int) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), MULTIPROC_ENV: str(directory)}
    subprocess.run([sys.executable, "-c", CHILD, str(times)], env=env, cwd=ROOT, check=True, timeout=60)


def test_metrics_sums_the_counters_of_every_process_of_the_host(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    directory = prepare_multiprocess_dir(tmp_path / "metrics")
    _count_in_child(directory, 1)
    _count_in_child(directory, 2)
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    text = scrape_text(Client(SERVER_NAME="localhost"))
    assert value(text, "controlplane_http_requests_total", route="api/v1/ping/") == 3
    assert value(text, "controlplane_events_appended_total", context="jobs") == 2
    assert value(text, "controlplane_notification_failures_total", channel_kind="dingtalk") == 2
    assert value(text, "controlplane_notification_deliveries_total", channel_kind="email") == 0
    assert "controlplane_notification_deliveries_total" in text  # defined at 0 in every process
    # this process is not in multiprocess mode: its own counts (the scrape's request) are not in the sum
    assert value(text, "controlplane_http_requests_total", route="metrics") == 0
    # the gauges read at scrape are still there, once
    assert text.count("# TYPE controlplane_runs gauge") == 1


def test_a_new_start_empties_the_directory_of_the_last_runs_files(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    directory = prepare_multiprocess_dir(tmp_path / "metrics")
    _count_in_child(directory, 5)
    (directory / "README").write_text("not ours")
    prepare_multiprocess_dir(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["README"]
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    text = scrape_text(Client(SERVER_NAME="localhost"))
    assert value(text, "controlplane_http_requests_total", route="api/v1/ping/") == 0
