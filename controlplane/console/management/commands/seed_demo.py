"""Seed a demo: superuser ``admin``, tenant "Demo" (``demo``) and its workspace "Default" (``default``).

Idempotent: every run prints the same admin password, read from ``<data dir>/demo-admin-password`` (0600),
and creates only what is missing. Tenant and workspace go through the tenancy write path (events); the
Django user is not event-sourced.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from controlplane.audit.recorder import record_command
from controlplane.eventlog.metadata import Metadata
from controlplane.tenancy.actions import do_create_tenant, do_create_workspace
from controlplane.tenancy.models import Tenant, Workspace

ADMIN_USERNAME = "admin"
PASSWORD_FILE = "demo-admin-password"  # noqa: S105  (a file name, not a password)
TENANT_NAME, TENANT_SLUG = "Demo", "demo"
WORKSPACE_NAME, WORKSPACE_SLUG = "Default", "default"


def password_path() -> Path:
    return Path(settings.DATA_DIR) / PASSWORD_FILE


def read_or_create_password(path: Path) -> tuple[str, bool]:
    """The stored demo password, or a new one written 0600 (O_EXCL, so concurrent seeds agree)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        password = path.read_text().strip()
        if password:
            return password, False
        path.unlink()  # an empty file (a crash between create and write): start over
        return read_or_create_password(path)
    password = secrets.token_urlsafe(18)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password, True


class Command(BaseCommand):
    help = "Create the demo admin user, tenant and workspace if missing; print the admin password."

    def handle(self, *args: object, **options: object) -> None:
        path = password_path()
        password, new_password = read_or_create_password(path)
        user_note = self._ensure_admin(password, new_password)
        tenant_id, tenant_note = self._ensure_tenant()
        workspace_note = self._ensure_workspace(tenant_id)
        record_command(
            "seed_demo",
            resource_type="demo",
            result="ok",
            details={"user": user_note, "tenant": tenant_note, "workspace": workspace_note},
        )
        self.stdout.write(f"demo: user {ADMIN_USERNAME!r} {user_note}")
        self.stdout.write(f"demo: tenant {TENANT_SLUG!r} {tenant_note}, workspace {WORKSPACE_SLUG!r} {workspace_note}")
        self.stdout.write(f"admin password: {password}  (user {ADMIN_USERNAME}, stored in {path})")

    def _ensure_admin(self, password: str, new_password: bool) -> str:
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=ADMIN_USERNAME).first()
            if user is None:
                User.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
                return "created"
            if new_password:
                # The password file was removed: the file is the source of the demo password, so reset it.
                user.set_password(password)
                user.save(update_fields=["password"])
                return "exists, password reset to the new stored one"
        if not user.check_password(password):
            self.stderr.write(
                f"demo: the password of {ADMIN_USERNAME!r} was changed since seeding; the stored one no "
                f"longer works (delete {password_path()} to reset it on the next run)"
            )
            return "exists, password changed by hand"
        return "exists"

    def _ensure_tenant(self) -> tuple[str, str]:
        tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
        if tenant is not None:
            return tenant.id, "exists"
        tenant_id = do_create_tenant(
            metadata=Metadata.for_system(None, reason="seed_demo"), name=TENANT_NAME, slug=TENANT_SLUG
        )
        return tenant_id, "created"

    def _ensure_workspace(self, tenant_id: str) -> str:
        if Workspace.objects.filter(tenant_id=tenant_id, slug=WORKSPACE_SLUG).exists():
            return "exists"
        do_create_workspace(
            metadata=Metadata.for_system(None, reason="seed_demo"),
            tenant_id=tenant_id,
            name=WORKSPACE_NAME,
            slug=WORKSPACE_SLUG,
        )
        return "created"


DEMO_CLUSTER = "demo-zeta"
DEMO_BATCH_JOB = "demo-fake-to-console"
DEMO_STREAM_JOB = "demo-stream"
DEMO_BROKEN_JOB = "demo-jdbc-orders"  # fails: no JDBC driver on the cluster (demo/jdbc_orders_to_console.conf)
DEMO_RULE = "demo: a run failed"
DEMO_STREAM_CONFIG = """
env {
  job.mode = "STREAMING"
  parallelism = 1
  checkpoint.interval = 10000
}
source {
  FakeSource {
    plugin_output = "events"
    row.num = 100000000
    split.read-interval = 200
    schema = { fields { id = "bigint", name = "string", amount = "double" } }
  }
}
sink {
  Console { plugin_input = "events" }
}
"""


def seed_demo_cluster(zeta_url: str) -> list[str]:
    """The demo's cluster (the Zeta emulator at ``zeta_url``), an alert rule paging on failed runs, a batch job
    scheduled every 10 minutes that runs once now, a streaming job that runs until it is paused or stopped, and a
    job that fails (so the alert fires). Creates only what is missing."""
    from controlplane.alerts.actions import do_create_rule
    from controlplane.alerts.selectors import rule_name_taken
    from controlplane.clusters.actions import do_register_cluster, do_update_cluster
    from controlplane.clusters.selectors import live_cluster_for_system, live_cluster_named_for_system
    from controlplane.jobs import run_actions, selectors
    from controlplane.jobs.actions import do_create_job, do_set_schedule

    workspace = Workspace.objects.get(tenant__slug=TENANT_SLUG, slug=WORKSPACE_SLUG)
    tenant_id, workspace_id = workspace.tenant_id, workspace.id
    meta = Metadata.for_system(tenant_id, workspace_id=workspace_id, reason="seed_demo")
    notes = []
    cluster = live_cluster_named_for_system(workspace_id, DEMO_CLUSTER)
    if cluster is None:
        cluster_id = do_register_cluster(
            metadata=meta,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=DEMO_CLUSTER,
            form="bare_metal",
            mode="hybrid",
            endpoints=[zeta_url],
            labels={"demo": "emulator"},
        )
        cluster = live_cluster_for_system(cluster_id)
        assert cluster is not None  # registered just now, its read model written with it
        notes.append(f"cluster {DEMO_CLUSTER!r} registered at {zeta_url}")
    elif cluster.endpoints != [zeta_url]:
        do_update_cluster(metadata=meta, cluster=cluster, changes={"endpoints": [zeta_url]})
        notes.append(f"cluster {DEMO_CLUSTER!r} moved to {zeta_url}")
    if not rule_name_taken(tenant_id, workspace_id, DEMO_RULE):
        fields = {"name": DEMO_RULE, "kind": "run_failed", "severity": "critical", "labels": {"team": "demo"}}
        do_create_rule(metadata=meta, tenant_id=tenant_id, workspace_id=workspace_id, fields=fields)
        notes.append(f"alert rule {DEMO_RULE!r} created")
    folder = Path(settings.BASE_DIR) / "controlplane" / "console" / "demo"
    jobs = (
        (DEMO_BATCH_JOB, (folder / "fakesource_to_console.conf").read_text()),
        (DEMO_STREAM_JOB, DEMO_STREAM_CONFIG),
        (DEMO_BROKEN_JOB, (folder / "jdbc_orders_to_console.conf").read_text()),
    )
    for name, text in jobs:
        if selectors.live_job_named_for_system(workspace_id, name) is not None:
            continue
        job_id = do_create_job(
            metadata=meta,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=name,
            cluster_id=cluster.id,
            config=text,
            message="demo",
        )
        job = selectors.job_for_system(job_id)
        assert job is not None  # projected in the writer's transaction
        if name == DEMO_BATCH_JOB:
            do_set_schedule(metadata=meta, job=job, cron="*/10 * * * *", timezone="Asia/Shanghai")
        if not selectors.job_has_runs_for_system(job_id):
            run_actions.do_start_run(metadata=meta, job=job, note="demo")
        notes.append(f"job {name!r} created and started")
    return notes or ["demo cluster and jobs exist"]
