"""The ``diagnose`` operation end to end inside the test process: agents (real registration and dispatch, the node
simulated by uploading a real bundle), the Zeta emulator for the engine's REST view and a run failed by its fault
injection, the archive packed and downloaded through the API, findings recorded, one-click fixes planned and
confirmed, archives expired."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.agents import actions as agents
from controlplane.audit.models import AuditRecord
from controlplane.clusters.models import node_id
from controlplane.diagnostics import actions as diagnostics
from controlplane.diagnostics.diagnose import archive_path
from controlplane.diagnostics.models import DiagnosticArchive, Finding
from controlplane.eventlog.models import Event
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs import runner as jobs_runner
from controlplane.jobs.models import Job, Run
from controlplane.operations import actions as operations
from controlplane.operations import runner
from controlplane.operations.domain.states import TERMINAL
from controlplane.operations.models import Operation, OperationStep
from controlplane.seatunnel.emulator import faults
from tests.diagnostics.texts import SAMPLES
from tests.operations.agent_sim import SimAgent, register_agent
from tests.operations.conftest import Place, make_place, person
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "seatunnel" / "configs"
JDBC_CONFIG = (CONFIGS / "jdbc_mysql_source_and_sink.conf").read_text()
JOB_PASSWORD = "Abc!@#135_seatunnel"  # in that config: it must appear nowhere in an archive
AGENT_TOKEN = "tok-9f8e7d6c5b4a"  # in a node's seatunnel.yaml
API = "/api/v1/tenants/acme/workspaces/etl"
MEMBER = "127.0.0.1:5801"


@pytest.fixture
def place(db, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    settings.OPERATION_RETRY_BASE_SECONDS = 0
    settings.OPERATION_POLL_SECONDS = 0.05
    return make_place()


def _as_tests(place: Place):  # type: ignore[no-untyped-def]
    from controlplane.eventlog.metadata import Metadata

    return Metadata.for_system(place.tenant_id, reason="tests", workspace_id=place.workspace_id)


def bundle_bytes(files: dict[str, str]) -> bytes:
    """A node bundle as the agent's diagnostics.collect packs it (members under ``diagnostics/``)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"diagnostics/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def node_files(log: str) -> dict[str, str]:
    return {
        "facts.json": json.dumps({"hostname": "node", "cpu_count": 2}),
        "config/seatunnel.yaml": f"seatunnel:\n  engine:\n    backup-count: 1\nagent:\n  token: {AGENT_TOKEN}\n",
        "config/job.conf": JDBC_CONFIG,  # a job config left in the node's config folder, raw
        "logs/seatunnel-engine-server.log": log,
    }


def uploading(nodes: list[SimAgent], logs: dict[str, str]):  # type: ignore[no-untyped-def]
    """An outcome that uploads a real bundle for diagnostics.collect (the node's log by hostname) and succeeds."""

    def outcome(action: dict) -> tuple[str, dict, str]:
        node = next(n for n in nodes if n.id == action["agent_id"])
        if action["type"] != "diagnostics.collect":
            return "succeeded", {"ran": action["type"]}, ""
        data = bundle_bytes(node_files(logs.get(node.hostname, "2026-12-04 10:00:00,000 INFO started\n")))
        sha = hashlib.sha256(data).hexdigest()
        stream = io.BytesIO(data)
        agents.do_store_artifact(
            metadata=node.agent.metadata(), agent_id=node.id, action_id=action["id"], sha256=sha, read=stream.read
        )
        return "succeeded", {"artifact": {"name": f"{action['id']}.tar.gz", "sha256": sha, "size": len(data)}}, ""

    return outcome


def drive(op_id: str, nodes: list[SimAgent], outcome) -> Operation:  # type: ignore[no-untyped-def]
    def finished() -> Operation | None:
        runner.advance(op_id)
        for node in nodes:
            node.serve(outcome)
        op = Operation.unscoped.get(id=op_id)
        return op if op.state in {str(s) for s in TERMINAL} else None

    return wait_until(finished, timeout=60, message=lambda: f"operation {op_id} to end")


def failed_jdbc_run(place: Place) -> Run:
    """A run of the real JDBC job config that the emulator fails with a missing driver."""
    config = JDBC_CONFIG.replace(
        'job.mode = "BATCH"', f'job.mode = "BATCH"\n  {faults.ENV_FAULT} = "{faults.MISSING_JDBC_DRIVER}"'
    )
    job_id = jobs.do_create_job(
        metadata=_as_tests(place),
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name=f"jdbc-{time.monotonic_ns()}",
        cluster_id=place.cluster.id,
        config=config,
    )
    run_id = run_actions.do_start_run(metadata=_as_tests(place), job=Job.unscoped.get(id=job_id))
    run = Run.unscoped.get(id=run_id)
    jobs_runner.submit(run, 0, metadata=_as_tests(place))

    def failed() -> bool:
        jobs_runner.sync_cluster(place.cluster.id)
        return Run.unscoped.get(id=run_id).state == "FAILED"

    wait_until(failed, interval=0.1, message=lambda: f"the run FAILED, it is {Run.unscoped.get(id=run_id).state}")
    return Run.unscoped.get(id=run_id)


def events(archive_id: str, wire_name: str) -> list[Event]:
    return list(Event.objects.filter(stream_id=f"archive-{archive_id}", event_type=wire_name).order_by("position"))


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def client_of(place: Place, username: str, role: str) -> Client:
    from django.contrib.auth import get_user_model

    person(place, username, role)
    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_diagnose_a_failed_run_packs_one_verified_redacted_archive_and_records_its_fault(place):
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2)]
    run = failed_jdbc_run(place)
    operator = person(place, "ops", "operator")
    op_id = operations.do_request_operation(
        metadata=operator, cluster=place.cluster, type="diagnose", params={"run_id": run.id}
    )
    op = drive(op_id, nodes, uploading(nodes, {}))
    assert op.state == "SUCCEEDED", (op.error_code, op.error)
    assert [s.key for s in OperationStep.unscoped.filter(operation_id=op_id)] == ["d1.collect", "engine", "pack"]
    archive = DiagnosticArchive.unscoped.get(id=op_id)
    assert (archive.subject_kind, archive.subject_id, archive.state) == ("run", run.id, "available")
    assert op.result["archive"]["sha256"] == archive.sha256 and len(op.result["bundles"]) == 2
    data = archive_path(archive.id).read_bytes()
    assert hashlib.sha256(data).hexdigest() == archive.sha256 and len(data) == archive.size
    files = members(data)
    top = f"diagnostics-{op_id}"
    manifest = json.loads(files[f"{top}/manifest.json"])
    # every file is in the manifest with its size and hash, and SHA256SUMS verifies them all, the manifest too
    assert {f"{top}/{f['path']}" for f in manifest["files"]} | {f"{top}/manifest.json", f"{top}/SHA256SUMS"} == set(
        files
    )
    for line in files[f"{top}/SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(files[f"{top}/{name}"]).hexdigest() == digest, name
    for entry in manifest["files"]:
        assert entry["size"] == len(files[f"{top}/{entry['path']}"])
    assert manifest["subject"] == {"kind": "run", "id": run.id} and manifest["archive_id"] == op_id
    names = {f["path"] for f in manifest["files"]}
    assert {"nodes/node-1/logs/seatunnel-engine-server.log", "nodes/node-2/config/job.conf"} <= names
    assert {"engine/overview.json", "engine/members.json", "engine/logs/index.json"} <= names
    assert {f"engine/runs/{run.id}/error.txt", f"engine/runs/{run.id}/job-info.json"} <= names
    assert f"engine/runs/{run.id}/config.hocon" in names or f"engine/runs/{run.id}/config.conf" in names
    assert any(n.startswith("engine/logs/") and n.endswith(".log") for n in names)  # the job's log text
    # the job's password and the node's token appear nowhere; their keys stay, masked
    for name, content in files.items():
        assert JOB_PASSWORD.encode() not in content, name
        assert AGENT_TOKEN.encode() not in content, name
    assert b'password = "***REDACTED***"' in files[f"{top}/nodes/node-1/config/job.conf"]
    # the fault: the driver is missing, found in the run's errorMsg and recorded with the archive
    findings = list(Finding.unscoped.filter(archive_id=op_id).order_by("-score"))
    assert findings[0].fingerprint_id == "jdbc_driver_missing" and findings[0].run_id == run.id
    assert findings[0].source_file.startswith("engine/") and "com.mysql.cj.jdbc.Driver" in findings[0].evidence
    assert "heap_out_of_memory" not in {f.fingerprint_id for f in findings}
    assert archive.finding_count == len(findings)
    logged = set(Event.objects.filter(stream_id=f"archive-{op_id}").values_list("event_type", flat=True))
    assert logged == {"diagnostics.archive_packed", "diagnostics.finding_recorded"}


def test_download_is_streamed_permission_checked_audited_and_hidden_from_other_tenants(place):
    node = register_agent(place.meta, place.cluster, "node-1", MEMBER)
    op_id = operations.do_request_operation(metadata=place.meta, cluster=place.cluster, type="diagnose", params={})
    assert drive(op_id, [node], uploading([node], {})).state == "SUCCEEDED"
    url = f"{API}/diagnostic-archives/{op_id}/download/"
    viewer = client_of(place, "watcher", "viewer")
    denied = viewer.get(url)
    assert denied.status_code == 403 and denied.json()["error"]["details"]["permission"] == "diagnostics.download"
    detail = viewer.get(f"{API}/diagnostic-archives/{op_id}/").json()  # the metadata is operation.read
    assert detail["subject_kind"] == "cluster" and detail["state"] == "available"
    operator = client_of(place, "oncall", "operator")
    before = AuditRecord.objects.count()
    response = operator.get(url)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/gzip" and response["X-Content-SHA256"] == detail["sha256"]
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == detail["sha256"]
    audit = list(AuditRecord.objects.order_by("id")[before:].values_list("action", "result", "actor_id"))
    assert audit == [("diagnostic_archive.download", "ok", "oncall")]
    assert [e.actor_id for e in events(op_id, "diagnostics.archive_downloaded")] == [
        "oncall"
    ]  # diagnostics.archive_downloaded, with its actor
    assert DiagnosticArchive.unscoped.get(id=op_id).downloads == 1
    # another tenant's member: 404, as if it did not exist
    from controlplane.tenancy import actions as tenancy

    tenancy.do_create_tenant(metadata=place.meta.__class__.for_system(None, reason="tests"), name="B", slug="beta")
    from django.contrib.auth import get_user_model

    from controlplane.eventlog.metadata import Metadata
    from controlplane.iam import actions as iam
    from controlplane.tenancy.models import Tenant

    outsider = get_user_model().objects.create_user("outsider")
    iam.do_grant_role(
        user=outsider,
        tenant=Tenant.objects.get(slug="beta"),
        role="owner",
        metadata=Metadata.for_system(None, reason="t"),
    )
    stranger = Client(SERVER_NAME="localhost")
    stranger.force_login(outsider)
    assert stranger.get(url).status_code == 404


def test_an_expired_archive_is_deleted_by_the_retention_task_and_answers_a_clear_code(place, settings):
    settings.DIAGNOSTIC_RETENTION_DAYS = 1
    node = register_agent(place.meta, place.cluster, "node-1", MEMBER)
    op_id = operations.do_request_operation(metadata=place.meta, cluster=place.cluster, type="diagnose", params={})
    drive(op_id, [node], uploading([node], {}))
    archive = DiagnosticArchive.unscoped.get(id=op_id)
    assert archive.expires_at - archive.created_at >= timedelta(days=1) - timedelta(seconds=5)
    assert diagnostics.expire_archives(timezone.now()) == 0  # not due yet
    later = archive.expires_at + timedelta(seconds=1)
    assert diagnostics.expire_archives(later) == 1
    assert not archive_path(op_id).exists()
    assert [
        (json.loads(e.payload)["deleted_bytes"], e.actor_kind) for e in events(op_id, "diagnostics.archive_expired")
    ] == [(archive.size, "system")]
    assert DiagnosticArchive.unscoped.get(id=op_id).state == "expired"
    assert diagnostics.expire_archives(later) == 0  # once
    response = client_of(place, "oncall", "operator").get(f"{API}/diagnostic-archives/{op_id}/download/")
    assert response.status_code == 410 and response.json()["error"]["code"] == "DIAGNOSTIC_ARCHIVE_EXPIRED"


def test_a_node_finding_offers_its_agent_action_fix_which_runs_after_confirmation(place):
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2)]
    log = "\n".join(
        [*SAMPLES["worker_lost"], "2026-12-04 10:00:01,000 ERROR [Task] " + SAMPLES["heap_out_of_memory"][0]]
    )
    outcome = uploading(nodes, {"node-2": log})
    op_id = operations.do_request_operation(
        metadata=place.meta, cluster=place.cluster, type="diagnose", params={"nodes": ["node-2"]}
    )
    assert drive(op_id, nodes, outcome).state == "SUCCEEDED"
    archive = DiagnosticArchive.unscoped.get(id=op_id)
    assert (archive.subject_kind, archive.subject_id) == ("node", node_id(place.cluster.id, "10.0.0.2:5801"))
    operator = client_of(place, "oncall", "operator")
    listed = operator.get(f"{API}/findings/?archive_id={op_id}").json()["results"]
    assert [f["fingerprint_id"] for f in listed][:1] == ["worker_lost"]
    finding = listed[0]
    no_fix = next(f for f in listed if f["fingerprint_id"] == "heap_out_of_memory")
    refused = operator.post(f"{API}/findings/{no_fix['id']}/fix-plan/", {}, "application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "DIAGNOSTIC_FIX_NONE"
    assert finding["source_file"] == "nodes/node-2/logs/seatunnel-engine-server.log"
    assert finding["one_click"] == {"kind": "agent_action", "type": "worker.start", "params": {}}
    plan = operator.post(f"{API}/findings/{finding['id']}/fix-plan/", {}, "application/json")
    assert plan.status_code == 200, plan.content
    shown = plan.json()
    assert shown["operation"]["type"] == "run_action" and shown["operation"]["params"]["action"] == "worker.start"
    assert [t["hostname"] for t in shown["steps"][0]["targets"]] == ["node-2"]
    stale = operator.post(f"{API}/findings/{finding['id']}/fix/", {"plan_hash": "0" * 64}, "application/json")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "DIAGNOSTIC_FIX_PLAN_CHANGED"
    viewer = client_of(place, "watcher", "viewer")
    refused = viewer.post(f"{API}/findings/{finding['id']}/fix/", {"plan_hash": shown["plan_hash"]}, "application/json")
    assert refused.status_code == 403
    confirmed = operator.post(
        f"{API}/findings/{finding['id']}/fix/", {"plan_hash": shown["plan_hash"]}, "application/json"
    )
    assert confirmed.status_code == 202, confirmed.content
    fix_op = confirmed.json()["operation_id"]
    done = drive(fix_op, nodes, outcome)
    assert done.state == "SUCCEEDED" and done.type == "run_action"
    assert [a["type"] for a in nodes[1].seen][-1] == "worker.start"
    assert "worker.start" not in [a["type"] for a in nodes[0].seen]
    assert [(json.loads(e.payload)["operation_id"], e.actor_id) for e in events(op_id, "diagnostics.fix_applied")] == [
        (fix_op, "oncall")
    ]
    assert Finding.unscoped.get(id=finding["id"]).fixes[0]["operation_id"] == fix_op
    audit = AuditRecord.objects.filter(action="finding.fix").values_list("result", "actor_id")
    assert sorted(audit) == [("denied", "watcher"), ("failed", "oncall"), ("ok", "oncall")]


def test_an_operation_fix_plans_a_rolling_restart_and_a_fix_not_allowlisted_is_refused(place, monkeypatch):
    node = register_agent(place.meta, place.cluster, "node-1", MEMBER)
    run = failed_jdbc_run(place)
    op_id = operations.do_request_operation(
        metadata=place.meta, cluster=place.cluster, type="diagnose", params={"run_id": run.id}
    )
    assert drive(op_id, [node], uploading([node], {})).state == "SUCCEEDED"
    finding = Finding.unscoped.filter(archive_id=op_id, fingerprint_id="jdbc_driver_missing").first()
    assert finding is not None
    operator = client_of(place, "oncall", "operator")
    shown = operator.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json").json()
    assert shown["kind"] == "operation" and shown["operation"]["type"] == "rolling_restart"
    assert shown["point"] == "cluster.restart" and shown["steps"][1]["params"]["action"] == "service.restart"
    confirmed = operator.post(
        f"{API}/findings/{finding.id}/fix/", {"plan_hash": shown["plan_hash"]}, "application/json"
    )
    assert confirmed.status_code == 202, confirmed.content
    assert Operation.unscoped.get(id=confirmed.json()["operation_id"]).type == "rolling_restart"
    # the library names a fix the allowlist does not hold: refused, nothing started
    from controlplane.diagnostics import fixes

    monkeypatch.setattr(fixes, "ALLOWED_OPERATIONS", frozenset())
    refused = operator.post(f"{API}/findings/{finding.id}/fix-plan/", {}, "application/json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "DIAGNOSTIC_FIX_NOT_ALLOWED"
    count = Operation.unscoped.count()
    again = operator.post(f"{API}/findings/{finding.id}/fix/", {"plan_hash": shown["plan_hash"]}, "application/json")
    assert again.status_code == 422 and Operation.unscoped.count() == count


def test_the_old_type_name_is_the_same_diagnosis(place):
    node = register_agent(place.meta, place.cluster, "node-1", MEMBER)
    op_id = operations.do_request_operation(
        metadata=place.meta, cluster=place.cluster, type="collect_diagnostics", params={"include_thread_dump": False}
    )
    op = drive(op_id, [node], uploading([node], {}))
    assert op.state == "SUCCEEDED" and op.result["archive"]["archive_id"] == op_id
    assert [b["hostname"] for b in op.result["bundles"]] == ["node-1"] and op.result["missing"] == []


def test_an_unknown_run_is_refused_when_planned(place):
    register_agent(place.meta, place.cluster, "node-1", MEMBER)
    with pytest.raises(Exception) as caught:
        operations.plan_operation(cluster=place.cluster, type="diagnose", params={"run_id": "nope"})
    assert getattr(caught.value, "code", "") == "DIAGNOSTIC_RUN_UNKNOWN"


def test_a_cluster_without_agents_is_diagnosed_from_the_engine_alone_and_a_repeated_pack_changes_nothing(place):
    from controlplane.diagnostics.diagnose import pack_archive
    from controlplane.operations.steps import StepContext

    op_id = operations.do_request_operation(metadata=place.meta, cluster=place.cluster, type="diagnose", params={})
    op = drive(op_id, [], outcome=None)
    assert op.state == "SUCCEEDED" and op.notes and list(op.result["bundles"]) == []
    assert [s.key for s in OperationStep.unscoped.filter(operation_id=op_id)] == ["engine", "pack"]
    archive = DiagnosticArchive.unscoped.get(id=op_id)
    files = members(archive_path(op_id).read_bytes())
    assert f"diagnostics-{op_id}/engine/overview.json" in files and archive.failures == []
    # the pack step called again (a worker died after its record, before the step's outcome): same answer, no event
    state, _ = operations.load_operation(op_id)
    before = Event.objects.count()
    ctx = StepContext(
        operation=state,
        spec=state.plan[-1],
        status=state.steps[-1],
        attempt=2,
        compensating=False,
        metadata=place.meta,
        now=timezone.now(),
        record_progress=lambda **kwargs: None,
    )
    again = pack_archive(ctx)
    assert again.result["sha256"] == archive.sha256 and Event.objects.count() == before
    assert hashlib.sha256(archive_path(op_id).read_bytes()).hexdigest() == archive.sha256
