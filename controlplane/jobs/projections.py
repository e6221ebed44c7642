"""JobsProjector: jobs and their config versions from job streams."""

from __future__ import annotations

from datetime import datetime

from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent
from controlplane.jobs import upcasters  # noqa: F401  (registers the upcasters that read config text again)
from controlplane.jobs.domain import events, run_events  # noqa: F401  (registers the event types)
from controlplane.jobs.domain.runs import TERMINAL, RunState
from controlplane.jobs.domain.schedule import next_fire_times
from controlplane.jobs.models import Job, JobSchedule, JobVersion, Run


class JobsProjector(Projector):
    name = "jobs"
    read_models = (JobVersion, JobSchedule, Job)

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
            cluster_selector=d.cluster_selector,
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
            variables=d.variables,
            ambiguous=d.ambiguous,
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
        JobSchedule.unscoped.filter(job_id=event.data.job_id).delete()

    def _touch(self, event: RecordedEvent) -> None:
        Job.unscoped.filter(id=event.data.job_id).update(version=event.version, updated_at=event.recorded_at)

    @handles("jobs.job_schedule_set")
    def on_schedule_set(self, event: RecordedEvent) -> None:
        d = event.data
        job = Job.unscoped.get(id=d.job_id)
        current = JobSchedule.unscoped.filter(job_id=d.job_id).first()
        since = max(event.recorded_at, current.last_fire_at or event.recorded_at) if current else event.recorded_at
        JobSchedule.unscoped.update_or_create(
            job_id=d.job_id,
            defaults={
                "tenant_id": job.tenant_id,
                "workspace_id": job.workspace_id,
                "cron": d.cron,
                "timezone": d.timezone,
                "enabled": d.enabled,
                "allow_overlap": d.allow_overlap,
                "next_fire_at": next_fire_times(d.cron, d.timezone, since)[0] if d.enabled else None,
            },
        )
        self._touch(event)

    @handles("jobs.job_schedule_removed")
    def on_schedule_removed(self, event: RecordedEvent) -> None:
        JobSchedule.unscoped.filter(job_id=event.data.job_id).delete()
        self._touch(event)

    @handles("jobs.job_schedule_fired")
    def on_schedule_fired(self, event: RecordedEvent) -> None:
        d = event.data
        row = JobSchedule.unscoped.get(job_id=d.job_id)
        fired_at = datetime.fromisoformat(d.fire_at)
        row.last_fire_at = fired_at
        row.last_run_id = d.run_id or ""
        row.last_skipped = d.skipped or ""
        row.missed += d.missed
        row.next_fire_at = next_fire_times(row.cron, row.timezone, fired_at)[0] if row.enabled else None
        row.save()
        self._touch(event)


class RunsProjector(Projector):
    name = "runs"
    read_models = (Run,)

    @handles("jobs.run_requested")
    def on_requested(self, event: RecordedEvent) -> None:
        d = event.data
        actor = event.metadata.actor
        Run.unscoped.create(
            id=d.run_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            job_id=d.job_id,
            job_version=d.job_version,
            cluster_id=d.cluster_id,
            state=RunState.PENDING,
            engine_job_id=d.engine_job_id,
            engine_job_name=d.engine_job_name,
            reason=d.reason,
            retry_of=d.retry_of,
            reproduces=d.reproduces,
            manifest=d.manifest,
            started_by=f"{actor.kind}:{actor.id}",
            version=event.version,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )

    def _update(self, event: RecordedEvent, **fields: object) -> None:
        Run.unscoped.filter(id=event.data.run_id).update(**fields, version=event.version, updated_at=event.recorded_at)

    @handles("jobs.run_submission_started")
    def on_submission_started(self, event: RecordedEvent) -> None:
        self._update(
            event,
            state=RunState.SUBMITTING,
            attempts=event.data.attempt,
            acknowledged=False,
            error_code="",
            error="",
        )

    @handles("jobs.run_submit_outcome_unknown")
    def on_outcome_unknown(self, event: RecordedEvent) -> None:
        self._update(event, error_code=event.data.error_code, error=event.data.error)

    @handles("jobs.run_submitted")
    def on_submitted(self, event: RecordedEvent) -> None:
        self._update(event, acknowledged=True, submitted_at=event.recorded_at, error_code="", error="")

    @handles("jobs.run_stop_requested")
    def on_stop_requested(self, event: RecordedEvent) -> None:
        self._update(event, state=RunState.STOPPING)

    @handles("jobs.run_state_changed")
    def on_state_changed(self, event: RecordedEvent) -> None:
        d = event.data
        fields: dict[str, object] = {"state": d.state, "error_code": d.error_code or "", "error": d.error or ""}
        if d.engine_state:
            fields["engine_state"] = d.engine_state
        if d.metrics is not None:
            fields["metrics"] = d.metrics
        if RunState(d.state) in TERMINAL:
            fields["finished_at"] = event.recorded_at
        self._update(event, **fields)


register(JobsProjector())
register(RunsProjector())
