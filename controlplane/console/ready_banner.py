"""The framed block ``make run`` prints once the web answers: where to go and how to log in, so it stands out
from the children's log lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from controlplane.console.management.commands.seed_demo import (
    ADMIN_USERNAME,
    DEMO_BATCH_JOB,
    DEMO_BROKEN_JOB,
    DEMO_CLUSTER,
    DEMO_STREAM_JOB,
    TENANT_SLUG,
    WORKSPACE_SLUG,
)


def frame(lines: Sequence[str]) -> list[str]:
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return [rule, *(f"| {line:<{width}} |" for line in lines), rule]


def ready_banner(url: str, data_dir: Path, *, password_file: Path | None, zeta_url: str | None) -> list[str]:
    """``password_file``: the demo admin's (``--seed-demo``); ``zeta_url``: the demo cluster's emulator."""
    lines = [f"ready: {url}", "", f"  console   {url}admin/"]
    if password_file is not None and password_file.exists():
        password = password_file.read_text().strip()
        lines.append(f"  log in    {ADMIN_USERNAME} / {password}  (stored in {password_file})")
    else:
        lines.append("  log in    a superuser (python manage.py createsuperuser)")
    lines.append(f"  API docs  {url}api/docs/  (once logged in)")
    if zeta_url is not None:
        lines.append(f"  demo      tenant {TENANT_SLUG}, workspace {WORKSPACE_SLUG}")
        lines.append(f"            cluster {DEMO_CLUSTER}: the Zeta emulator at {zeta_url}, run by a node agent")
        lines.append(f"            jobs {DEMO_BATCH_JOB} (batch), {DEMO_STREAM_JOB} (streaming) and {DEMO_BROKEN_JOB}")
        lines.append("            (fails: no JDBC driver; it fires an alert and the demo diagnoses it)")
    lines += [f"  data      {data_dir}", "", "Ctrl-C stops everything."]
    return frame(lines)
