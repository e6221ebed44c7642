"""The console's diagnostics pages (controlplane/console/pages/diagnostics.py): bundles with their audited download,
findings explained in the user's language, and a one-click fix behind a confirmation of its plan's hash."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from controlplane.audit.models import AuditRecord
from controlplane.clusters.models import Cluster
from controlplane.diagnostics.library import fault_library
from controlplane.diagnostics.models import DiagnosticArchive, Finding
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs.models import Job, Run
from controlplane.operations.models import Operation
from tests.api.world import record_diagnosis, world_for_module
from tests.console.test_operation_pages import assert_translated
from tests.console.test_pages import client_of
from tests.diagnostics.test_job_version_fix import a_finding, a_job, a_run
from tests.operations.conftest import Place

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def downloads(archive_id: str) -> int:
    return Event.objects.filter(stream_id=f"archive-{archive_id}", event_type="diagnostics.archive_downloaded").count()


def test_the_list_shows_the_tenants_bundles_and_findings_explained_in_the_users_language(world):
    client = client_of(world.users["viewer"])
    archive, finding = world.objects["acme_archive"], world.objects["acme_finding"]
    page = client.get(reverse("admin:console-diagnostics")).content.decode()
    assert f'data-archive="{archive}"' in page and world.objects["beta_archive"] not in page
    assert reverse("admin:console-operation", args=[archive]) in page  # the diagnose operation that packed it
    assert reverse("admin:console-finding", args=[finding]) in page and world.objects["beta_finding"] not in page
    fault = fault_library().get("worker_lost")
    english, chinese_text = (escape(fault.text("explanation", lang)) for lang in ("en", "zh-Hans"))
    assert english in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(reverse("admin:console-diagnostics")).content.decode()
    assert chinese_text in chinese and english not in chinese
    assert 'data-action="download"' not in page and 'data-action="fix"' not in page  # a viewer: no buttons
    assert client.get(reverse("admin:console-finding", args=[world.objects["beta_finding"]])).status_code == 404


def test_a_download_is_the_apis_audited_writer_and_streams_the_archive(world):
    archive_id = world.objects["acme_archive"]
    client = client_of(world.users["operator"])
    page = client.get(reverse("admin:console-diagnostics")).content.decode()
    assert 'data-action="download"' in page
    before = downloads(archive_id)
    response = client.post(reverse("admin:console-archive-download", args=[archive_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/gzip"
    body = b"".join(response.streaming_content)
    archive = DiagnosticArchive.unscoped.get(id=archive_id)
    assert hashlib.sha256(body).hexdigest() == archive.sha256 == response["X-Content-SHA256"]
    assert downloads(archive_id) == before + 1
    record = AuditRecord.objects.filter(action="console.download", resource_id=archive_id).latest("id")
    assert (record.result, record.actor_id) == ("ok", "operator-user")


def test_a_viewer_may_not_download_and_a_forged_post_is_refused_and_audited(world):
    archive_id = world.objects["acme_archive"]
    before = downloads(archive_id)
    refused = client_of(world.users["viewer"]).post(reverse("admin:console-archive-download", args=[archive_id]))
    assert refused.status_code == 403 and "diagnostics.download" in refused.content.decode()
    assert downloads(archive_id) == before
    record = AuditRecord.objects.filter(action="console.download", resource_id=archive_id).latest("id")
    assert (record.result, record.error_code) == ("denied", "PERMISSION_DENIED")
    other = client_of(world.users["owner"]).post(
        reverse("admin:console-archive-download", args=[world.objects["beta_archive"]])
    )
    assert other.status_code == 404


def test_an_expired_bundle_says_so_and_its_download_is_refused_with_a_clear_message(world):
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    finding = record_diagnosis(
        Metadata.for_system(world.acme.id, reason="test"), cluster, timezone.now() - timedelta(seconds=1)
    )
    client = client_of(world.users["operator"])
    page = client.get(reverse("admin:console-diagnostics")).content.decode()
    row = re.search(rf'data-archive="{finding.archive_id}">(.*?)</tr>', page, re.S)
    assert row and "Its retention ended" in row.group(1) and 'data-action="download"' not in row.group(1)
    url = reverse("admin:console-diagnostics")
    response = client.post(reverse("admin:console-archive-download", args=[finding.archive_id]), {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert "expired" in client.get(url).content.decode()
    record = AuditRecord.objects.filter(action="console.download", resource_id=finding.archive_id).latest("id")
    assert (record.result, record.error_code) == ("failed", "DIAGNOSTIC_ARCHIVE_EXPIRED")
    assert downloads(finding.archive_id) == 0


def test_a_fix_shows_its_plan_and_confirming_that_plan_starts_it(world):
    finding_id = world.objects["acme_finding"]
    client = client_of(world.users["operator"])
    detail = client.get(reverse("admin:console-finding", args=[finding_id])).content.decode()
    plan_url = reverse("admin:console-finding-fix-plan", args=[finding_id])
    assert plan_url in detail
    page = client.get(plan_url).content.decode()
    shown_hash = world.objects["acme_fix_hash"]
    assert f'name="plan_hash" value="{shown_hash}"' in page
    assert "worker.start on acme-node-1" in page and "run_action" in page  # the steps and their nodes
    before = Operation.unscoped.filter(tenant_id=world.acme.id).count()
    response = client.post(reverse("admin:console-finding-fix", args=[finding_id]), {"plan_hash": shown_hash})
    assert response.status_code == 302
    started = Operation.unscoped.filter(tenant_id=world.acme.id).order_by("-created_at").first()
    assert Operation.unscoped.filter(tenant_id=world.acme.id).count() == before + 1
    assert (started.type, started.params["action"]) == ("run_action", "worker.start")
    assert response["Location"] == reverse("admin:console-operation", args=[started.id])
    assert Finding.unscoped.get(id=finding_id).fixes[0]["operation_id"] == started.id
    record = AuditRecord.objects.filter(action="console.fix", resource_id=finding_id).latest("id")
    assert (record.result, record.actor_id) == ("ok", "operator-user")


def test_a_plan_changed_since_it_was_shown_runs_nothing_and_says_so(world):
    finding_id = world.objects["acme_finding"]
    client = client_of(world.users["operator"])
    plan_url = reverse("admin:console-finding-fix-plan", args=[finding_id])
    before = Operation.unscoped.count()
    response = client.post(
        reverse("admin:console-finding-fix", args=[finding_id]), {"plan_hash": "0" * 64, "next": plan_url}
    )
    assert response.status_code == 302 and response["Location"] == plan_url
    assert "plan it again and confirm the new plan" in client.get(plan_url).content.decode()
    assert Operation.unscoped.count() == before
    record = AuditRecord.objects.filter(action="console.fix", resource_id=finding_id).latest("id")
    assert (record.result, record.error_code) == ("failed", "DIAGNOSTIC_FIX_PLAN_CHANGED")


def test_a_viewer_has_no_fix_and_a_forged_confirmation_is_refused_and_audited(world):
    finding_id = world.objects["acme_finding"]
    client = client_of(world.users["viewer"])
    assert 'data-action="fix"' not in client.get(reverse("admin:console-finding", args=[finding_id])).content.decode()
    assert client.get(reverse("admin:console-finding-fix-plan", args=[finding_id])).status_code == 403
    before = Operation.unscoped.count()
    refused = client.post(
        reverse("admin:console-finding-fix", args=[finding_id]), {"plan_hash": world.objects["acme_fix_hash"]}
    )
    assert refused.status_code == 403 and Operation.unscoped.count() == before
    record = AuditRecord.objects.filter(action="console.fix", resource_id=finding_id).latest("id")
    assert (record.result, record.error_code) == ("denied", "PERMISSION_DENIED")
    beta = world.objects["beta_finding"]
    owner = client_of(world.users["owner"])
    assert owner.get(reverse("admin:console-finding-fix-plan", args=[beta])).status_code == 404
    assert owner.post(reverse("admin:console-finding-fix", args=[beta]), {"plan_hash": "x"}).status_code == 404


def test_the_diagnostics_pages_in_chinese_have_no_english_of_their_own(world):
    client = client_of(world.users["owner"])
    finding = world.objects["acme_finding"]
    urls = [
        reverse("admin:console-diagnostics"),
        reverse("admin:console-finding", args=[finding]),
        reverse("admin:console-finding-fix-plan", args=[finding]),
    ]
    assert_translated(client, urls)


def test_a_job_version_fix_shows_the_new_version_and_confirming_writes_it_without_a_run(world):
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    place = Place(world.acme.id, world.acme_ws.id, cluster, Metadata.for_system(world.acme.id, reason="test"))
    job = a_job(place)
    finding = a_finding(place, a_run(place, job).id)
    operator = client_of(world.users["operator"]).get(reverse("admin:console-finding-fix-plan", args=[finding.id]))
    assert 'data-action="confirm-fix"' not in operator.content.decode()  # job.update is the admin's, not theirs
    client = client_of(world.users["admin"])
    page = client.get(reverse("admin:console-finding-fix-plan", args=[finding.id])).content.decode()
    assert 'data-action="confirm-fix"' in page and job.name in page
    assert "v1 → v2" in page and "checkpoint.timeout" in page
    shown = re.search(r'name="plan_hash" value="([0-9a-f]{64})"', page)
    assert shown
    runs = Run.unscoped.filter(job_id=job.id).count()
    response = client.post(reverse("admin:console-finding-fix", args=[finding.id]), {"plan_hash": shown.group(1)})
    assert response.status_code == 302 and response["Location"] == reverse("admin:console-job", args=[job.id])
    assert Job.unscoped.get(id=job.id).current_version == 2 and Run.unscoped.filter(job_id=job.id).count() == runs


def test_an_operator_starts_a_diagnosis_of_a_cluster_and_a_viewer_has_no_button(world):
    cluster_id = world.objects["acme_cluster"]
    target = reverse("admin:console-cluster-diagnose", args=[cluster_id])
    viewer = client_of(world.users["viewer"])
    assert target not in viewer.get(reverse("admin:console-diagnostics")).content.decode()
    assert viewer.post(target).status_code == 403
    denied = AuditRecord.objects.filter(action="console.diagnose", resource_id=cluster_id).latest("id")
    assert (denied.result, denied.error_code) == ("denied", "PERMISSION_DENIED")
    operator = client_of(world.users["operator"])
    assert target in operator.get(reverse("admin:console-diagnostics")).content.decode()
    response = operator.post(target)
    started = Operation.unscoped.filter(cluster_id=cluster_id, type="diagnose").order_by("-created_at").first()
    assert response.status_code == 302 and response["Location"] == reverse("admin:console-operation", args=[started.id])
    assert started.requested_by == "user:operator-user"
    assert (
        client_of(world.users["owner"])
        .post(reverse("admin:console-cluster-diagnose", args=[world.objects["beta_cluster"]]))
        .status_code
        == 404
    )
