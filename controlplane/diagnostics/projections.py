"""DiagnosticsProjector: archives and findings from the archive streams (timestamps from the events)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from controlplane.diagnostics.domain import events  # noqa: F401  (registers the event types)
from controlplane.diagnostics.models import DiagnosticArchive, Finding
from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent


class DiagnosticsProjector(Projector):
    name = "diagnostics"
    read_models = (DiagnosticArchive, Finding)

    @handles("diagnostics.archive_packed")
    def on_archive_packed(self, event: RecordedEvent) -> None:
        data = event.data
        DiagnosticArchive.unscoped.create(
            id=data.archive_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            cluster_id=data.cluster_id,
            subject_kind=data.subject_kind,
            subject_id=data.subject_id,
            operation_id=data.operation_id,
            size=data.size,
            sha256=data.sha256,
            files=data.files,
            failures=data.failures,
            state="available",
            created_at=event.recorded_at,
            expires_at=datetime.fromisoformat(data.expires_at),
        )

    @handles("diagnostics.finding_recorded")
    def on_finding_recorded(self, event: RecordedEvent) -> None:
        data = event.data
        archive = DiagnosticArchive.unscoped.get(id=data.archive_id)
        Finding.unscoped.create(
            id=data.finding_id,
            tenant_id=archive.tenant_id,
            workspace_id=archive.workspace_id,
            archive_id=data.archive_id,
            cluster_id=archive.cluster_id,
            run_id=data.run_id,
            subject_kind=archive.subject_kind,
            subject_id=archive.subject_id,
            fingerprint_id=data.fingerprint_id,
            title=data.title,
            severity=data.severity,
            score=data.score,
            evidence=data.evidence,
            source_file=data.source_file,
            node=data.node,
            created_at=event.recorded_at,
        )
        DiagnosticArchive.unscoped.filter(id=data.archive_id).update(finding_count=F("finding_count") + 1)

    @handles("diagnostics.archive_downloaded")
    def on_archive_downloaded(self, event: RecordedEvent) -> None:
        DiagnosticArchive.unscoped.filter(id=event.data.archive_id).update(downloads=F("downloads") + 1)

    @handles("diagnostics.archive_expired")
    def on_archive_expired(self, event: RecordedEvent) -> None:
        DiagnosticArchive.unscoped.filter(id=event.data.archive_id).update(
            state="expired", expired_at=event.recorded_at
        )

    @handles("diagnostics.fix_applied")
    def on_fix_applied(self, event: RecordedEvent) -> None:
        data = event.data
        finding = Finding.unscoped.filter(id=data.finding_id).first()
        if finding is not None:
            entry = {"operation_id": data.operation_id, "type": data.type, "at": event.recorded_at.isoformat()}
            if data.job_version_id:
                entry["job_version_id"] = data.job_version_id
            Finding.unscoped.filter(id=data.finding_id).update(fixes=[*finding.fixes, entry])


register(DiagnosticsProjector())
