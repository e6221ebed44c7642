"""What the service benchmarks (runs_sync, heartbeats, live_latency) share: a scratch PostgreSQL database with
the project migrated on it, the environment for their child processes, and their entry in the JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_SECRET_KEY = "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@contextmanager
def scratch_database(
    postgres_url: str, name: str, data_dir: str, *, extra_env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> Iterator[tuple[dict[str, str], Path]]:
    """Create database ``name`` on the server, migrate it, and yield (env, data directory) for child processes;
    the database is dropped afterwards. Redis is left out unless ``extra_env`` puts it back: each benchmark
    says what it measures with."""
    from tests.benchmarks.run import create_database, drop_database, with_database

    create_database("postgresql", postgres_url, name)
    data = ROOT / "var" / "bench" / data_dir
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "CONTROLPLANE_DATABASE_URL": with_database(postgres_url, name),
        "CONTROLPLANE_DATA_DIR": str(data),
        "CONTROLPLANE_LOG_LEVEL": "WARNING",
    }
    for variable in ("CONTROLPLANE_REDIS_URL", *unset):
        env.pop(variable, None)
    env.update(extra_env or {})
    env.setdefault("CONTROLPLANE_SECRET_KEY", BENCH_SECRET_KEY)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        yield env, data
    finally:
        drop_database("postgresql", postgres_url, name)


def write_report(report: str, key: str, result: dict[str, Any]) -> int:
    """Put ``result`` under ``key`` in the JSON report (keeping the other entries), print it, and give the exit
    status: 0 when its correctness checks passed."""
    path = Path(report)
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged[key] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result.get("correct") else 1
