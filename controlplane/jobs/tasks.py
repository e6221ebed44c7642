"""Celery entry points of runs. Tasks take ids only, are queued after commit (``run_actions``), load what they serve
through a ``*_for_system`` selector and act as the system, naming the task, in that run's tenant and workspace."""

from __future__ import annotations

import logging

from celery import shared_task

from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import runner, schedules, selectors
from controlplane.jobs.models import Run
from controlplane.seatunnel.client import ZetaError

log = logging.getLogger(__name__)

SUBMIT_RETRIES = 6  # about 2 minutes of backoff (2, 4, ... 64 s) before an unreachable cluster fails the run


def _as_system(run: Run, task: str) -> Metadata:
    return Metadata.for_system(run.tenant_id, reason=task, workspace_id=run.workspace_id)


@shared_task(bind=True, name="jobs.submit_run", acks_late=True, ignore_result=True, max_retries=SUBMIT_RETRIES)
def submit_run(self, run_id: str, attempts: int) -> str:  # type: ignore[no-untyped-def]
    """Submit (or resume) a run; a cluster that cannot be reached is tried again with backoff."""
    run = selectors.run_for_system(run_id)
    if run is None:
        return "NOT_FOUND"
    metadata = _as_system(run, "jobs.submit_run")
    try:
        facts = runner.submit(run, attempts, metadata=metadata, give_up=self.request.retries >= SUBMIT_RETRIES)
    except runner.SubmitLater as error:
        facts = runner.load_run(run_id)[0]
        raise self.retry(args=(run_id, facts.attempts), countdown=2 ** (self.request.retries + 1), exc=error) from None
    return str(facts.state)


@shared_task(name="jobs.stop_run", acks_late=True, ignore_result=True)
def stop_run(run_id: str) -> str:
    """Ask the engine to stop or pause a STOPPING run; the sync loop asks again if this is lost."""
    run = selectors.run_for_system(run_id)
    if run is None:
        return "NOT_FOUND"
    try:
        return str(runner.stop(run, metadata=_as_system(run, "jobs.stop_run")).state)
    except ZetaError as error:
        log.warning("stop of run %s not delivered (%s); the sync loop will ask again", run_id, error.code)
        return "STOPPING"


@shared_task(name="jobs.sync_runs", acks_late=True, ignore_result=True)
def sync_runs() -> dict[str, int]:
    """One poll per cluster that has watched runs (beat runs this on an interval)."""
    changed = {}
    for cluster_id in selectors.watched_clusters_for_system():
        result = runner.sync_cluster(cluster_id)
        if result.error:
            log.warning("sync of cluster %s: %s", cluster_id, result.error)
        changed[cluster_id] = result.changed
    return changed


@shared_task(name="jobs.fire_schedules", acks_late=True, ignore_result=True)
def fire_schedules() -> int:
    """Start the runs whose cron time has come (beat runs this every CONTROLPLANE_SCHEDULE_TICK_SECONDS)."""
    return len(schedules.fire_due())


@shared_task(name="jobs.fetch_run_log", acks_late=True, ignore_result=True)
def fetch_run_log(run_id: str) -> int:
    """Keep the engine's log of a run that reached a terminal state or a pause (the engine drops it later)."""
    run = selectors.run_for_system(run_id)
    if run is None:
        return 0
    try:
        return len(runner.fetch_log(run).text)
    except ZetaError as error:  # the run page fetches it on demand while the engine still has it
        log.warning("log of run %s not kept: %s", run_id, error.code)
        return 0
