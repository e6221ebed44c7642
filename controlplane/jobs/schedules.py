"""Firing job schedules: the durable scheduler behind ``jobs.fire_schedules`` (beat, every few seconds).

Each fire time is handled exactly once, even with two beats: the run's id is derived from (job, fire time) and
the fire is recorded on the job's stream under the version that was read, in the same transaction as the run.
A fire time that finds a run of the job still active is skipped and recorded as skipped (no overlap by default).
After an outage only the latest passed fire time runs; the earlier ones are counted as missed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from controlplane.errors import DomainError
from controlplane.eventlog.aggregates import execute, load
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import run_actions
from controlplane.jobs.actions import JOB, job_stream
from controlplane.jobs.domain import aggregate
from controlplane.jobs.domain.schedule import due
from controlplane.jobs.models import Job, JobSchedule

log = logging.getLogger(__name__)
_RUN_IDS = uuid.UUID("7f1c0a52-5d5e-4c41-9d0e-5b1f3c2a9e10")  # namespace of scheduled run ids


def scheduled_run_id(job_id: str, fire_at: str) -> str:
    return uuid.uuid5(_RUN_IDS, f"{job_id}@{fire_at}").hex


def fire_due(now: datetime | None = None) -> list[dict[str, str | None]]:
    """Handle every fire time that has come. Returns what was done, one entry per job that fired or skipped."""
    now = now or timezone.now()
    done = []
    for row in JobSchedule.unscoped.filter(enabled=True, next_fire_at__lte=now).order_by("next_fire_at"):
        try:
            outcome = _fire(row.job_id, now)
        except ConcurrencyConflict:
            continue  # another scheduler (or a person) moved the job first; the next tick sees the new state
        if outcome is not None:
            done.append(outcome)
    return done


def _fire(job_id: str, now: datetime) -> dict[str, str | None] | None:
    state, version = load(JOB, job_stream(job_id).id)
    schedule = state.schedule
    if state.deleted or schedule is None or not schedule["enabled"]:
        return None
    fire, missed = due(schedule["cron"], schedule["timezone"], datetime.fromisoformat(schedule["since"]), now)
    if fire is None:
        return None
    fire_at = fire.isoformat()
    job = Job.unscoped.get(id=job_id)
    metadata = Metadata.for_system(job.tenant_id, workspace_id=job.workspace_id, reason="scheduler")
    run_id: str | None = None
    skipped: str | None = None
    with transaction.atomic():
        try:
            run_id = run_actions.do_start_run(
                metadata=metadata,
                job=job,
                reason="schedule",
                note=f"scheduled for {fire_at}",
                allow_overlap=schedule["allow_overlap"],
                run_id=scheduled_run_id(job_id, fire_at),
            )
        except ConcurrencyConflict:
            raise
        except DomainError as error:  # a run still active, the cluster gone, a quota: say so, do not retry
            skipped = f"{error.code}: {error.message}"[:200]
        execute(
            JOB,
            job_stream(job_id),
            lambda s: aggregate.fired(s, job_id=job_id, fire_at=fire_at, run_id=run_id, skipped=skipped, missed=missed),
            metadata,
            expected_version=version,
        )
    if skipped:
        log.info("schedule of job %s at %s skipped: %s", job_id, fire_at, skipped)
    return {"job_id": job_id, "fire_at": fire_at, "run_id": run_id, "skipped": skipped}
