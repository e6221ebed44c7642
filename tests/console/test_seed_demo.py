"""seed_demo: idempotent, same password every run, tenant and workspace through the event log."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from controlplane.eventlog.models import Event
from controlplane.tenancy.models import Tenant, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def seed() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=out, stderr=err)
    match = re.search(r"^admin password: (\S+) ", out.getvalue(), re.MULTILINE)
    assert match, out.getvalue()
    return match.group(1), err.getvalue()


def test_seed_creates_admin_tenant_and_workspace(data_dir):
    password, err = seed()
    assert err == ""
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.check_password(password)
    stored = data_dir / "demo-admin-password"
    assert stored.read_text().strip() == password
    assert stored.stat().st_mode & 0o777 == 0o600
    tenant = Tenant.objects.get(slug="demo")
    assert tenant.name == "Demo"
    workspace = Workspace.objects.get(tenant=tenant, slug="default")
    assert workspace.name == "Default"
    # through the write path: the events are there, written by the system actor "seed_demo"
    events = list(Event.objects.filter(stream_id=f"tenant-{tenant.id}").order_by("version"))
    assert [e.event_type for e in events] == ["tenancy.tenant_created", "tenancy.workspace_created"]
    assert {(e.actor_kind, e.actor_id) for e in events} == {("system", "seed_demo")}


def test_second_run_changes_nothing_and_prints_the_same_password(data_dir):
    first, _ = seed()
    events = Event.objects.count()
    second, err = seed()
    assert second == first and err == ""
    assert Event.objects.count() == events
    assert Tenant.objects.filter(slug="demo").count() == 1
    assert Workspace.objects.filter(slug="default").count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1


def test_a_removed_password_file_resets_the_password(data_dir):
    first, _ = seed()
    (data_dir / "demo-admin-password").unlink()
    second, _ = seed()
    assert second != first
    assert get_user_model().objects.get(username="admin").check_password(second)


def test_a_password_changed_by_hand_is_kept_and_reported(data_dir):
    seed()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("chosen-by-the-operator-1")
    admin.save()
    _, err = seed()
    assert "was changed since seeding" in err
    assert get_user_model().objects.get(username="admin").check_password("chosen-by-the-operator-1")


def test_a_widened_password_file_is_narrowed_again(data_dir):
    seed()
    stored = data_dir / "demo-admin-password"
    stored.chmod(0o644)
    seed()
    assert stored.stat().st_mode & 0o777 == 0o600


def test_the_demo_admin_signs_in_to_the_console_and_sees_the_demo_jobs_and_runs(data_dir):
    from django.test import Client
    from django.urls import reverse

    from controlplane.console.management.commands.seed_demo import (
        DEMO_BATCH_JOB,
        DEMO_BROKEN_JOB,
        DEMO_STREAM_JOB,
        seed_demo_cluster,
    )
    from tests.api.world import emulator_url

    password, _ = seed()
    seed_demo_cluster(emulator_url())
    client = Client(SERVER_NAME="localhost")
    signed_in = client.post(reverse("admin:login"), {"username": "admin", "password": password})
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("admin:console-dashboard")
    jobs = client.get(reverse("admin:console-jobs")).content.decode()
    assert DEMO_BATCH_JOB in jobs and DEMO_STREAM_JOB in jobs and DEMO_BROKEN_JOB in jobs
    runs = client.get(reverse("admin:console-runs")).content.decode()
    assert len(set(re.findall(r'href="/admin/console/runs/(\w+)/"', runs))) == 3  # each job was started once
    assert client.get(reverse("admin:console-dashboard")).status_code == 200
