"""`make run` for real, scraped: the launcher gives web, worker and beat one multiprocess directory, emptied of a
previous run's files, and the web's /metrics sums what the worker counted (ADR 0028)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.console.test_runcontrolplane import Running, free_port
from tests.metrics.scrape import value
from tests.waiting import wait_until


@pytest.mark.timeout(150)
def test_make_run_sums_the_workers_counts_into_the_webs_metrics(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stale = data_dir / "metrics" / "counter_4242.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"\0" * 64)  # a previous run's file: would be summed (or break the scrape) if left
    run = Running(data_dir, free_port())
    try:
        run.wait_for(r"^control plane: http://127\.0\.0\.1:\d+/ ")
        # the demo operation ran on the worker, which appended its step events
        run.wait_for(r"^demo +\| operation (\w+) SUCCEEDED, 1/1 steps$", timeout=90)
        children = run.children()
        assert not stale.exists()
        worker_file = data_dir / "metrics" / f"counter_{children['worker']}.db"
        assert wait_until(worker_file.exists, timeout=30, message=f"{worker_file} written by the worker")
        run.get("/healthz")
        text = run.get("/metrics").text
        assert value(text, "controlplane_events_appended_total", context="operations") > 0
        assert value(text, "controlplane_http_requests_total", route="healthz", status="200") >= 1
        assert "controlplane_runs" in text and "python_info" not in text  # multiprocess: no per-process collectors
        pids = {int(m.group(1)) for p in (data_dir / "metrics").iterdir() if (m := re.search(r"_(\d+)\.db$", p.name))}
        assert {children["web"], children["worker"]} <= pids, (children, pids)
        assert run.stop(signal.SIGTERM) == 0, run.output
    finally:
        run.kill()
