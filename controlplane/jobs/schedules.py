"""Firing job schedules: the durable scheduler behind ``jobs.fire_schedules`` (beat, every few seconds).

Each fire time is handled exactly once, even with two beats: the run's id is derived from (job, fire time) and
the fire is recorded on the job's stream under the version that was read, in the same transaction as the run
(``actions.do_fire_schedule``). A fire time that finds a run of the job still active is skipped and recorded as
skipped (no overlap by default). After an outage only the latest passed fire time runs; the earlier ones are
counted as missed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import selectors
from controlplane.jobs.actions import Fired, do_fire_schedule

log = logging.getLogger(__name__)
REASON = "jobs.fire_schedules"  # the system actor the scheduler's events name


def fire_due(now: datetime | None = None) -> list[Fired]:
    """Handle every fire time that has come. Returns what was done, one entry per job that fired or skipped."""
    now = now or timezone.now()
    done = []
    for row in selectors.due_schedules_for_system(now):
        job = selectors.job_for_system(row.job_id)
        if job is None:
            continue
        metadata = Metadata.for_system(job.tenant_id, reason=REASON, workspace_id=job.workspace_id)
        try:
            fired = do_fire_schedule(metadata=metadata, job=job, now=now)
        except ConcurrencyConflict:
            continue  # another scheduler (or a person) moved the job first; the next tick sees the new state
        if fired is None:
            continue
        if fired.skipped:
            log.info("schedule of job %s at %s skipped: %s", job.id, fired.fire_at, fired.skipped)
        done.append(fired)
    return done
