"""The only writers of diagnostics. The pack step (as the system) records an archive and its findings in one
append; a person downloads an archive (``diagnostics.download``, audited by an event before the first byte) and
confirms a finding's one-click fix (the fix's own operation, requested through the operations writer, which
authorizes its own point again); the retention task expires archives (deletes the file, records it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any, BinaryIO

from django.db import transaction

from controlplane.clusters.models import Cluster
from controlplane.diagnostics import fixes, selectors
from controlplane.diagnostics.diagnose import archive_path
from controlplane.diagnostics.domain import archive as domain
from controlplane.diagnostics.domain.archive import ArchiveExpiredError, ArchiveState
from controlplane.diagnostics.domain.events import ArchivePacked, FindingRecorded
from controlplane.diagnostics.models import DiagnosticArchive, Finding
from controlplane.eventlog.aggregates import AggregateSpec, execute_retrying, load
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.operations.domain.aggregate import OperationAggregate

ARCHIVE = AggregateSpec[ArchiveState](
    name="diagnostics.archive",
    initial=ArchiveState,
    evolve=domain.evolve,
    to_snapshot=domain.to_snapshot,
    from_snapshot=domain.from_snapshot,
)


def archive_stream(archive_id: str) -> StreamRef:
    return StreamRef(type="diagnostics.archive", id=f"archive-{archive_id}")


def _meta(metadata: Metadata, tenant_id: str, workspace_id: str) -> Metadata:
    return replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id)


def do_record_archive(
    *,
    metadata: Metadata,
    operation: OperationAggregate,
    subject: dict[str, str],
    size: int,
    sha256: str,
    files: int,
    failures: list[dict[str, str]],
    expires_at: datetime,
    findings: list[dict[str, Any]],
) -> None:
    """The pack step's record: the archive (its id is the operation's) and its findings, one append."""
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    archive_id = operation.operation_id
    packed = ArchivePacked(
        archive_id=archive_id,
        tenant_id=operation.tenant_id,
        workspace_id=operation.workspace_id,
        cluster_id=operation.cluster_id,
        subject_kind=subject["kind"],
        subject_id=subject["id"],
        operation_id=operation.operation_id,
        size=size,
        sha256=sha256,
        files=files,
        failures=failures,
        expires_at=expires_at.isoformat(),
    )
    recorded = [
        FindingRecorded(archive_id=archive_id, finding_id=f"{archive_id}:{number}", **finding)
        for number, finding in enumerate(findings, 1)
    ]
    execute_retrying(
        ARCHIVE,
        archive_stream(archive_id),
        lambda state: domain.pack(state, packed=packed, findings=recorded),
        _meta(metadata, operation.tenant_id, operation.workspace_id),
    )


def do_download_archive(*, metadata: Metadata, archive: DiagnosticArchive, now: datetime) -> BinaryIO:
    """Record the download (who, from where: the event's metadata) and open the file to stream (opened before the
    record commits, so the retention task deleting it meanwhile cannot leave a recorded download with no file). An
    archive past its retention is DIAGNOSTIC_ARCHIVE_EXPIRED, whether or not the retention task has deleted it yet."""
    authorize(metadata, "diagnostics.download", tenant_id=archive.tenant_id, workspace_id=archive.workspace_id)
    with transaction.atomic():
        execute_retrying(
            ARCHIVE,
            archive_stream(archive.id),
            lambda state: domain.download(state, now=now),
            _meta(metadata, archive.tenant_id, archive.workspace_id),
        )
        try:
            return archive_path(archive.id).open("rb")
        except FileNotFoundError:
            raise ArchiveExpiredError("the diagnostic archive's file is gone", archive_id=archive.id) from None


def do_expire_archive(*, metadata: Metadata, archive: DiagnosticArchive, now: datetime) -> bool:
    """Delete an archive past its retention and record it; False when it is not due (or expired already)."""
    authorize(metadata, "operation.run", tenant_id=archive.tenant_id, workspace_id=archive.workspace_id)
    state, _ = load(ARCHIVE, archive_stream(archive.id).id)
    if not state.packed or state.expired or datetime.fromisoformat(state.expires_at) > now:
        return False
    path = archive_path(archive.id)
    size = path.stat().st_size if path.is_file() else 0
    path.unlink(missing_ok=True)  # before the record: a crash in between leaves a record-less gap, not a file
    _, written = execute_retrying(
        ARCHIVE,
        archive_stream(archive.id),
        lambda s: domain.expire(s, now=now, deleted_bytes=size),
        _meta(metadata, archive.tenant_id, archive.workspace_id),
    )
    return bool(written)


def expire_archives(now: datetime) -> int:
    """The retention task's body: every archive past its retention, each as the system in its tenant."""
    done = 0
    for archive in selectors.due_archives_for_system(now):
        meta = Metadata.for_system(
            archive.tenant_id, reason="diagnostics.expire_archives", workspace_id=archive.workspace_id
        )
        done += do_expire_archive(metadata=meta, archive=archive, now=now)
    return done


def do_apply_fix(
    *,
    metadata: Metadata,
    finding: Finding,
    cluster: Cluster,
    plan_hash: str,
    params: dict[str, Any] | None = None,
) -> tuple[str, fixes.FixPlan]:
    """Plan the finding's fix again and start it only if its hash is the one confirmed; returns the operation's id
    (a ``job_version`` fix: the new version's id, ``<job id>:<n>``). The actor needs ``operation.run`` here and the
    fix's own point (``cluster.restart`` for a restart), which the operations writer checks again; the record of
    the fix commits with the operation's request."""
    from controlplane.operations import actions as operations

    if fixes.kind_of(finding) == "job_version":
        return _apply_job_version_fix(metadata=metadata, finding=finding, cluster=cluster, plan_hash=plan_hash)
    authorize(metadata, "operation.run", tenant_id=finding.tenant_id, workspace_id=finding.workspace_id, obj=cluster)
    plan = fixes.plan_fix(finding, cluster, params)
    authorize(metadata, plan.plan["point"], tenant_id=finding.tenant_id, workspace_id=finding.workspace_id, obj=cluster)
    if plan.hash != plan_hash:
        raise fixes.PlanChanged(
            "the fix's plan changed since it was shown: plan it again and confirm the new plan",
            plan_hash=plan.hash,
        )
    meta = _meta(metadata, finding.tenant_id, finding.workspace_id)
    meta = replace(meta, correlation_id=meta.correlation_id or uuid.uuid4().hex)
    with transaction.atomic():
        operation_id = operations.do_request_operation(
            metadata=meta, cluster=cluster, type=plan.operation_type, params=plan.operation_params
        )
        execute_retrying(
            ARCHIVE,
            archive_stream(finding.archive_id),
            lambda state: domain.apply_fix(
                state,
                finding_id=finding.id,
                kind=plan.kind,
                type=plan.type,
                plan_hash=plan.hash,
                operation_id=operation_id,
            ),
            meta,
        )
    return operation_id, plan


def _apply_job_version_fix(
    *, metadata: Metadata, finding: Finding, cluster: Cluster, plan_hash: str
) -> tuple[str, fixes.FixPlan]:
    """The new job version, through the jobs writer (which authorizes ``job.update`` again and refuses a job
    changed since planning), and the record of the fix, in one transaction. No run is started."""
    from controlplane.jobs import actions as jobs
    from controlplane.jobs import selectors as jobs_selectors

    authorize(metadata, "job.update", tenant_id=finding.tenant_id, workspace_id=finding.workspace_id)
    plan = fixes.plan_fix(finding, cluster)
    if plan.hash != plan_hash:
        raise fixes.PlanChanged(
            "the fix's plan changed since it was shown: plan it again and confirm the new plan",
            plan_hash=plan.hash,
        )
    params = plan.operation_params
    job = jobs_selectors.live_job_for_system(params["job_id"])
    if job is None:
        raise fixes.JobGone("the run's job was deleted", job_id=params["job_id"])
    meta = _meta(metadata, finding.tenant_id, finding.workspace_id)
    meta = replace(meta, correlation_id=meta.correlation_id or uuid.uuid4().hex)
    change = plan.plan["change"]
    with transaction.atomic():
        number = jobs.do_revise_job(
            metadata=meta,
            job=job,
            config=params["config"],
            format=params["format"],
            message=f"one-click fix of finding {finding.id}: {change['key']} {change['old']} -> {change['new']}",
            expected_version=params["stream_version"],
        )
        version_id = f"{job.id}:{number}"
        execute_retrying(
            ARCHIVE,
            archive_stream(finding.archive_id),
            lambda state: domain.apply_fix(
                state,
                finding_id=finding.id,
                kind=plan.kind,
                type=plan.type,
                plan_hash=plan.hash,
                operation_id="",
                job_version_id=version_id,
            ),
            meta,
        )
    return version_id, plan
