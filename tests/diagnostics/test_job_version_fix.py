"""The job_version one-click fix (raise_checkpoint_timeout): planned from the finding's run's job, confirmed into a
new job version through the jobs writer, audited as diagnostics.fix_applied; never a run. The findings are recorded
on an archive stream directly (the pack step's own append), so no agent or engine process is needed."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.diagnostics import actions as diagnostics
from controlplane.diagnostics import checks, fixes
from controlplane.diagnostics.domain import archive as domain
from controlplane.diagnostics.domain.events import ArchivePacked, FindingRecorded
from controlplane.diagnostics.domain.library import parse_library
from controlplane.diagnostics.models import Finding
from controlplane.eventlog.aggregates import execute
from controlplane.eventlog.models import Event
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, JobVersion, Run
from tests.diagnostics.test_library import _broken
from tests.operations.conftest import Place, make_place, person

pytestmark = pytest.mark.django_db

API = "/api/v1/tenants/acme/workspaces/etl"
STREAMING = """# a streaming job whose checkpoints expire
env {
  job.mode = "STREAMING"
  checkpoint.interval = 400000
  checkpoint.timeout = 60000
  parallelism = 2
}

source {
  FakeSource {
    result_table_name = "fake"
    schema { fields { id = "int", name = "string" } }
  }
}

sink {
  console {}
}
"""


@pytest.fixture
def place(db, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    return make_place()


def a_job(place: Place, config: str = STREAMING, fmt: str = "auto") -> Job:
    job_id = jobs.do_create_job(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name=f"cdc-{uuid.uuid4().hex[:8]}",
        cluster_id=place.cluster.id,
        config=config,
        format=fmt,
    )
    return Job.unscoped.get(id=job_id)


def a_finding(place: Place, run_id: str, fingerprint_id: str = "checkpoint_expired") -> Finding:
    """A finding of a packed archive, recorded as the pack step records it."""
    archive_id = uuid.uuid4().hex
    packed = ArchivePacked(
        archive_id=archive_id,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        cluster_id=place.cluster.id,
        subject_kind="run" if run_id else "cluster",
        subject_id=run_id or place.cluster.id,
        operation_id=archive_id,
        size=1,
        sha256="0" * 64,
        files=1,
        failures=[],
        expires_at=(timezone.now() + timedelta(days=7)).isoformat(),
    )
    found = FindingRecorded(
        archive_id=archive_id,
        finding_id=f"{archive_id}:1",
        fingerprint_id=fingerprint_id,
        title="Checkpoint timed out",
        severity="error",
        score=1.0,
        evidence="Checkpoint expired before completing.",
        source_file="engine/job-info.json",
        node="",
        run_id=run_id,
    )
    execute(
        diagnostics.ARCHIVE,
        diagnostics.archive_stream(archive_id),
        lambda state: domain.pack(state, packed=packed, findings=[found]),
        place.meta,
    )
    return Finding.unscoped.get(id=found.finding_id)


def a_run(place: Place, job: Job) -> Run:
    return Run.unscoped.get(id=run_actions.do_start_run(metadata=place.meta, job=job))


def client_of(place: Place, username: str, role: str) -> Client:
    from django.contrib.auth import get_user_model

    person(place, username, role)
    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_the_plan_shows_the_job_the_version_the_change_and_the_diff(place):
    job = a_job(place)
    finding = a_finding(place, a_run(place, job).id, "checkpoint_timeout_too_small")
    admin = client_of(place, "lead", "admin")
    shown = admin.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json")
    assert shown.status_code == 200, shown.content
    plan = shown.json()
    assert plan["kind"] == "job_version" and plan["type"] == "raise_checkpoint_timeout"
    assert plan["job"] == {"id": job.id, "name": job.name}
    assert plan["from_version"] == 1 and plan["to_version"] == 2 and plan["point"] == "job.update"
    # max(2 x 60000, 2 x 400000, 600000): two intervals win
    assert plan["change"] == {"key": "env.checkpoint.timeout", "old": 60000, "old_from": "job", "new": 800000}
    env = plan["diff"]["structure"]["env"]
    assert env == {"added": {}, "removed": {}, "changed": {"checkpoint.timeout": {"old": 60000, "new": 800000}}}
    assert '+  "checkpoint.timeout" = 800000' in plan["diff"]["text"]
    assert any("no run is started" in note for note in plan["notes"])
    assert JobVersion.unscoped.filter(job_id=job.id).count() == 1  # planning writes nothing


def test_confirming_writes_version_n_plus_1_with_only_the_timeout_raised_and_records_the_fix(place):
    job = a_job(place)
    run = a_run(place, job)
    finding = a_finding(place, run.id)
    admin = client_of(place, "lead", "admin")
    shown = admin.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json").json()
    runs = Run.unscoped.count()
    confirmed = admin.post(f"{API}/findings/{finding.id}/fix/", {"plan_hash": shown["plan_hash"]}, "application/json")
    assert confirmed.status_code == 201, confirmed.content
    assert confirmed.json()["job_version_id"] == f"{job.id}:2"
    old = JobVersion.unscoped.get(job_id=job.id, version=1)
    new = JobVersion.unscoped.get(job_id=job.id, version=2)
    assert new.normalised["env"] == {**old.normalised["env"], "checkpoint.timeout": 800000}
    assert {k: v for k, v in new.normalised.items() if k != "env"} == {
        k: v for k, v in old.normalised.items() if k != "env"
    }
    assert new.text.startswith(old.text.rstrip())  # the person's text is kept as written
    assert Job.unscoped.get(id=job.id).current_version == 2
    assert Run.unscoped.count() == runs  # no run started
    event = Event.objects.get(stream_id=f"archive-{finding.archive_id}", event_type="diagnostics.fix_applied")
    applied = json.loads(event.payload)
    assert event.actor_id == "lead" and applied["kind"] == "job_version" and applied["job_version_id"] == f"{job.id}:2"
    assert applied["operation_id"] == "" and applied["plan_hash"] == shown["plan_hash"]
    assert Finding.unscoped.get(id=finding.id).fixes[0]["job_version_id"] == f"{job.id}:2"


def test_an_absent_timeout_starts_from_the_engine_default_and_a_json_config_is_rewritten(place):
    config = {
        "env": {"job.mode": "STREAMING"},
        "source": [{"plugin_name": "FakeSource", "result_table_name": "fake", "schema": {"fields": {"id": "int"}}}],
        "sink": [{"plugin_name": "console"}],
    }
    job = a_job(place, json.dumps(config), "json")
    finding = a_finding(place, a_run(place, job).id)
    plan = fixes.plan_fix(finding, place.cluster)
    assert plan.plan["change"] == {
        "key": "env.checkpoint.timeout",
        "old": fixes.ENGINE_CHECKPOINT_TIMEOUT_MS,
        "old_from": "engine default",
        "new": fixes.MIN_RAISED_CHECKPOINT_TIMEOUT_MS,
    }
    version_id, _ = diagnostics.do_apply_fix(
        metadata=person(place, "lead", "admin"), finding=finding, cluster=place.cluster, plan_hash=plan.hash
    )
    new = JobVersion.unscoped.get(id=version_id)
    assert new.format == "json" and new.normalised["env"]["checkpoint.timeout"] == 600000


def test_a_plan_gone_stale_by_a_new_job_version_is_refused(place):
    job = a_job(place)
    finding = a_finding(place, a_run(place, job).id)
    admin = client_of(place, "lead", "admin")
    shown = admin.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json").json()
    jobs.do_revise_job(metadata=place.meta, job=job, config=STREAMING.replace("parallelism = 2", "parallelism = 3"))
    refused = admin.post(f"{API}/findings/{finding.id}/fix/", {"plan_hash": shown["plan_hash"]}, "application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "DIAGNOSTIC_FIX_PLAN_CHANGED"
    assert refused.json()["error"]["details"]["plan_hash"] != shown["plan_hash"]
    assert JobVersion.unscoped.filter(job_id=job.id).count() == 2  # the person's v2 only
    assert not Event.objects.filter(event_type="diagnostics.fix_applied").exists()


def test_a_viewer_and_an_operator_without_job_update_are_refused(place):
    job = a_job(place)
    finding = a_finding(place, a_run(place, job).id)
    plan = fixes.plan_fix(finding, place.cluster)
    viewer = client_of(place, "watcher", "viewer")
    refused = viewer.post(f"{API}/findings/{finding.id}/fix/", {"plan_hash": plan.hash}, "application/json")
    assert refused.status_code == 403
    operator = client_of(place, "oncall", "operator")  # may run operations, may not change job configs
    refused = operator.post(f"{API}/findings/{finding.id}/fix/", {"plan_hash": plan.hash}, "application/json")
    assert refused.status_code == 403
    assert JobVersion.unscoped.filter(job_id=job.id).count() == 1


def test_a_finding_without_a_run_is_refused_with_a_stable_code(place):
    finding = a_finding(place, "")
    admin = client_of(place, "lead", "admin")
    refused = admin.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "DIAGNOSTIC_FIX_NEEDS_RUN"


def test_a_timeout_written_as_a_variable_is_refused_with_a_stable_code(place):
    config = STREAMING.replace("checkpoint.timeout = 60000", "checkpoint.timeout = ${ckpt_ms}")
    job_id = jobs.do_create_job(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="with-variable",
        cluster_id=place.cluster.id,
        config=config,
        variables=[{"name": "ckpt_ms", "default": "60000"}],
    )
    finding = a_finding(place, a_run(place, Job.unscoped.get(id=job_id)).id)
    admin = client_of(place, "lead", "admin")
    refused = admin.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "DIAGNOSTIC_FIX_VALUE_UNREADABLE"
    assert refused.json()["error"]["details"]["key"] == "checkpoint.timeout"


def test_the_library_check_accepts_the_job_version_kind_and_refuses_an_unknown_type():
    fine = parse_library(
        {"fix.yaml": _broken("  rules:", "  one_click: {kind: job_version, type: raise_checkpoint_timeout}\n  rules:")}
    )
    assert checks.one_click_problems(fine) == []
    unknown = parse_library(
        {"fix.yaml": _broken("  rules:", "  one_click: {kind: job_version, type: drop_the_sink}\n  rules:")}
    )
    problems = checks.one_click_problems(unknown)
    assert len(problems) == 1 and "drop_the_sink" in problems[0][1] and "job-version fix" in problems[0][1]
