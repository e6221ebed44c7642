"""JobsProjector: jobs and their config versions from job streams."""

from __future__ import annotations

from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent
from controlplane.jobs.domain import events  # noqa: F401  (registers the event types)
from controlplane.jobs.models import Job, JobVersion


class JobsProjector(Projector):
    name = "jobs"
    read_models = (JobVersion, Job)

    @handles("jobs.job_created")
    def on_created(self, event: RecordedEvent) -> None:
        d = event.data
        Job.unscoped.create(
            id=d.job_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            name=d.name,
            description=d.description,
            labels=d.labels,
            cluster_id=d.cluster_id,
            mode="",
            current_version=0,
            version=event.version,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )

    @handles("jobs.job_version_added")
    def on_version_added(self, event: RecordedEvent) -> None:
        d = event.data
        job = Job.unscoped.get(id=d.job_id)
        actor = event.metadata.actor
        JobVersion.unscoped.create(
            id=f"{d.job_id}:{d.version}",
            tenant_id=job.tenant_id,
            workspace_id=job.workspace_id,
            job_id=d.job_id,
            version=d.version,
            format=d.format,
            text=d.text,
            normalised=d.normalised,
            mode=d.mode,
            message=d.message,
            author=f"{actor.kind}:{actor.id}",
            rolled_back_from=d.rolled_back_from,
            created_at=event.recorded_at,
        )
        Job.unscoped.filter(id=d.job_id).update(
            current_version=d.version, mode=d.mode, version=event.version, updated_at=event.recorded_at
        )

    @handles("jobs.job_updated")
    def on_updated(self, event: RecordedEvent) -> None:
        Job.unscoped.filter(id=event.data.job_id).update(
            **event.data.changes, version=event.version, updated_at=event.recorded_at
        )

    @handles("jobs.job_deleted")
    def on_deleted(self, event: RecordedEvent) -> None:
        Job.unscoped.filter(id=event.data.job_id).update(
            deleted=True, version=event.version, updated_at=event.recorded_at
        )


register(JobsProjector())
