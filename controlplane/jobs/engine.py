"""Runs meet the engine: submit, stop, and the sync loop (one poll per cluster per interval, not one per run).

Called from Celery tasks (``jobs.tasks``) with ids only. Every decision goes through the run aggregate; the
engine's answers are evidence, never guesses:

- A submit is recorded (``run_submission_started``) before the request leaves, under an engine job id we chose.
  Any later attempt first asks the engine for that id; only when the engine says it has no such job is the
  submit sent again, so a worker or engine restart neither loses nor duplicates a run.
- The sync loop reads ``/running-jobs`` and ``/finished-jobs`` once per cluster and moves every watched run of
  that cluster from the answer; events are written only for runs whose state changes. Live metrics and log
  text are observations (``RunTelemetry``), not events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from controlplane.clusters.connect import client_for
from controlplane.clusters.models import Cluster
from controlplane.errors import DomainError
from controlplane.eventlog.aggregates import execute_retrying
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs.domain import run as aggregate
from controlplane.jobs.domain.run import Run as RunFacts
from controlplane.jobs.domain.runs import RunState, from_engine
from controlplane.jobs.models import Run, RunTelemetry
from controlplane.jobs.run_actions import RUN, load_run, run_stream
from controlplane.outbound.policy import OutboundTargetForbidden
from controlplane.seatunnel.client import (
    JobMetrics,
    JobSummary,
    ZetaClient,
    ZetaError,
    ZetaJobNotFound,
    ZetaRequestRejected,
    ZetaSubmitOutcomeUnknown,
    ZetaUnreachable,
)
from controlplane.seatunnel.config.errors import JobConfigVariableUnresolved
from controlplane.seatunnel.config.normal import engine_form
from controlplane.seatunnel.config.secrets import SecretUnresolved, render_secrets
from controlplane.seatunnel.config.variables import render_variables
from controlplane.seatunnel.states import JobState as EngineState
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.selectors import resolve_secret_refs

log = logging.getLogger(__name__)

# Runs the sync loop looks at. PENDING is watched only to re-queue a submit task that was lost.
WATCHED = (RunState.PENDING, RunState.SUBMITTING, RunState.RUNNING, RunState.STOPPING, RunState.UNKNOWN)
# A submit or stop not settled after this long is asked again by the sync loop (its task may have been lost).
STALE_AFTER = timedelta(seconds=60)
LOG_KEEP_CHARS = 256 * 1024  # the tail of an engine log kept with a run


def record(run_id: str, decide: Callable[[RunFacts], list[object]], reason: str) -> tuple[RunFacts, int]:
    """Load, decide, append; a concurrent writer (the API, another worker) makes it decide again on fresh state.
    Returns the run's facts after it and how many events were written."""
    tenant_id, workspace_id = Run.unscoped.values_list("tenant_id", "workspace_id").get(id=run_id)
    metadata = Metadata.for_system(tenant_id, workspace_id=workspace_id, reason=reason)
    try:
        facts, recorded = execute_retrying(RUN, run_stream(run_id), decide, metadata)
    except ConcurrencyConflict:
        raise DomainError(f"run {run_id} kept changing under the worker", code="RUN_BUSY", run_id=run_id) from None
    return facts, len(recorded)


def metrics_dict(metrics: JobMetrics) -> dict[str, Any]:
    """JSON-safe: Decimals become strings (as the engine sends them), never floats."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(metrics).items()}


# -- submit -----------------------------------------------------------------------------------------------
class SubmitLater(Exception):
    """The cluster could not be reached: nothing was sent. The task retries with backoff."""


def submit(run_id: str, attempts: int, *, give_up: bool = False) -> RunFacts:
    """Send the run's submission (or resume) once, reconciling first if an earlier attempt may have reached the
    engine. ``attempts``: how many attempts the run had when this was queued; a task that finds the run moved on
    since (a duplicate, or a late redelivery) does nothing. ``give_up``: the last try: a cluster that cannot be
    reached fails the run instead of waiting."""
    facts, _ = load_run(run_id)
    if (
        not facts.exists
        or facts.attempts != attempts
        or (facts.acknowledged and facts.state != RunState.PAUSED)
        or facts.state not in (RunState.PENDING, RunState.PAUSED, RunState.SUBMITTING, RunState.STOPPING)
    ):
        return facts  # nothing to send: done already, or settled by someone else
    run = Run.unscoped.get(id=run_id)
    cluster = Cluster.unscoped.filter(id=facts.cluster_id, removed=False).first()
    if cluster is None:
        return _fail(run_id, "CLUSTER_NOT_FOUND", "the run's cluster was removed")
    try:
        with client_for(cluster) as client:
            return _submit(client, run, facts)
    except OutboundTargetForbidden as error:  # refused before anything was sent: retrying cannot help
        return _fail(run_id, error.code, error.message)
    except ZetaUnreachable as error:
        if give_up:
            return _fail(run_id, error.code, f"{error.message}: {error.details.get('last_error', '')}")
        raise SubmitLater(error.message) from error


def _submit(client: ZetaClient, run: Run, facts: RunFacts) -> RunFacts:
    run_id = run.id
    if facts.state in (RunState.SUBMITTING, RunState.STOPPING) and _found(client, facts):
        facts, _ = record(
            run_id, lambda s: aggregate.acknowledge(s, run_id=run_id, found_by_reconcile=True), "reconcile"
        )
        if facts.state == RunState.STOPPING:
            _send_stop(client, facts)
        return facts
    if facts.state == RunState.STOPPING:
        return record(run_id, lambda s: aggregate.stopped_unsent(s, run_id=run_id), "submit")[0]
    try:
        filled = render_variables(run.manifest["normalised"], run.manifest.get("variables", {}))
    except JobConfigVariableUnresolved as error:  # a manifest from before job variables
        return _fail(run_id, error.code, error.message)
    try:
        config = engine_form(render_secrets(filled, _resolver(facts)))
    except (SecretNotFound, SecretUnresolved) as error:
        return _fail(run_id, "SECRET_NOT_FOUND", f"a secret the config names is gone: {error}")
    client.version()  # reach the cluster first: unreachable now means nothing was sent and nothing is recorded
    facts, _ = record(run_id, lambda s: aggregate.begin_submission(s, run_id=run_id), "submit")
    try:
        client.submit_job(
            config, job_id=facts.engine_job_id, job_name=run.engine_job_name, start_with_savepoint=facts.resuming
        )
    except ZetaSubmitOutcomeUnknown as error:
        code, message = error.code, error.message
        record(
            run_id, lambda s: aggregate.submit_outcome_unknown(s, run_id=run_id, code=code, message=message), "submit"
        )
        raise SubmitLater(message) from error
    except ZetaRequestRejected as error:
        if "has already been submitted" in error.message or "currently running" in error.message:
            return record(
                run_id, lambda s: aggregate.acknowledge(s, run_id=run_id, found_by_reconcile=True), "reconcile"
            )[0]
        return _fail(run_id, error.code, error.message)
    except ZetaUnreachable:
        raise
    except ZetaError as error:  # auth refused, a malformed answer: the engine did not take the job
        return _fail(run_id, error.code, error.message)
    return record(run_id, lambda s: aggregate.acknowledge(s, run_id=run_id, found_by_reconcile=False), "submit")[0]


def _found(client: ZetaClient, facts: RunFacts) -> bool:
    """Does the engine have the current submission? For a resume, the old paused job does not count."""
    try:
        info = client.job_info(facts.engine_job_id)
    except ZetaJobNotFound:
        return False
    return not (facts.resuming and info.state == EngineState.SAVEPOINT_DONE)


def _resolver(facts: RunFacts) -> Callable[[list[str]], dict[str, str]]:
    return lambda names: resolve_secret_refs(facts.tenant_id, facts.workspace_id, names)


def _fail(run_id: str, code: str, message: str) -> RunFacts:
    return record(run_id, lambda s: aggregate.submit_failed(s, run_id=run_id, code=code, message=message), "submit")[0]


# -- stop -------------------------------------------------------------------------------------------------
def stop(run_id: str) -> RunFacts:
    """Ask the engine to stop (or pause) a STOPPING run. Stopping is idempotent on the engine."""
    facts, _ = load_run(run_id)
    if facts.state != RunState.STOPPING:
        return facts
    if not facts.acknowledged:
        return submit(run_id, facts.attempts)  # the engine may not have it: reconcile, then stop or settle
    cluster = Cluster.unscoped.filter(id=facts.cluster_id, removed=False).first()
    if cluster is None:
        return facts
    with client_for(cluster) as client:
        _send_stop(client, facts)
    return facts


def _send_stop(client: ZetaClient, facts: RunFacts) -> None:
    client.stop_job(facts.engine_job_id, savepoint=bool(facts.stop_savepoint))


# -- sync -------------------------------------------------------------------------------------------------
@dataclass
class SyncResult:
    cluster_id: str
    runs: int = 0  # watched runs looked at
    changed: int = 0  # runs with new events
    error: str = ""
    requeued: list[str] = field(default_factory=list)


def watched_clusters() -> list[str]:
    return sorted(set(Run.unscoped.filter(state__in=[str(s) for s in WATCHED]).values_list("cluster_id", flat=True)))


def sync_cluster(cluster_id: str, *, client: ZetaClient | None = None) -> SyncResult:
    """One poll of one cluster (running + finished jobs) settles all its watched runs."""
    result = SyncResult(cluster_id=cluster_id)
    runs = list(Run.unscoped.filter(cluster_id=cluster_id, state__in=[str(s) for s in WATCHED]))
    result.runs = len(runs)
    if not runs:
        return result
    cluster = Cluster.unscoped.filter(id=cluster_id).first()
    if cluster is None or cluster.removed:
        result.error = "CLUSTER_NOT_FOUND"
        return result
    own = client is None
    try:
        client = client or client_for(cluster)
        try:
            entries = _engine_jobs(client)
        except (ZetaError, OutboundTargetForbidden) as error:  # the cluster cannot be asked: no run moves on a guess
            result.error = error.code
            return result
        now = timezone.now()
        telemetry: list[RunTelemetry] = []
        for run in runs:
            try:
                changed = _sync_run(client, run, entries.get(run.engine_job_id), now, telemetry, result)
            except (ZetaError, DomainError) as error:
                log.warning("sync of run %s failed: %s %s", run.id, error.code, error.message)
                continue
            result.changed += changed
        if telemetry:
            _save_telemetry(telemetry)
    finally:
        if own and client is not None:
            client.close()
    return result


def _save_telemetry(rows: list[RunTelemetry]) -> None:
    """Insert or update the live metrics of many runs in a few statements (an upsert that runs on every backend:
    MySQL takes no conflict target and Oracle has no upsert in Django)."""
    known = set(RunTelemetry.unscoped.filter(run_id__in=[r.run_id for r in rows]).values_list("run_id", flat=True))
    RunTelemetry.unscoped.bulk_update([r for r in rows if r.run_id in known], ["metrics", "metrics_at"], batch_size=500)
    RunTelemetry.unscoped.bulk_create([r for r in rows if r.run_id not in known], batch_size=500)


def _engine_jobs(client: ZetaClient) -> dict[int, JobSummary]:
    entries = {job.job_id: job for job in client.finished_jobs()}
    entries.update({job.job_id: job for job in client.running_jobs()})  # a resumed job is in both: running wins
    return entries


def _sync_run(
    client: ZetaClient,
    run: Run,
    entry: JobSummary | None,
    now: Any,
    telemetry: list[RunTelemetry],
    result: SyncResult,
) -> bool:
    state = RunState(run.state)
    stale = now - run.updated_at > STALE_AFTER
    if state == RunState.PENDING or (state == RunState.SUBMITTING and not run.acknowledged and entry is None):
        if stale:
            _requeue_submit(run)
            result.requeued.append(run.id)
        return False
    if entry is None:
        if state == RunState.UNKNOWN or not run.acknowledged:
            return False
        try:  # not listed: expired history or an engine restart; one direct question decides
            info = client.job_info(run.engine_job_id)
        except ZetaJobNotFound:
            return record(run.id, lambda s: aggregate.engine_lost(s, run_id=run.id), "sync")[1] > 0
        return _observe(client, run, info.state, info.error_msg, metrics_dict(info.metrics))
    if state == RunState.STOPPING and entry.state == EngineState.RUNNING and stale:
        _send_stop(client, load_run(run.id)[0])  # the stop request was lost: ask again (idempotent)
    if entry.state == EngineState.RUNNING:
        telemetry.append(
            RunTelemetry(
                run_id=run.id,
                tenant_id=run.tenant_id,
                workspace_id=run.workspace_id,
                metrics=metrics_dict(entry.metrics),
                metrics_at=now,
            )
        )
    implied = from_engine(state, entry.state)
    if implied == state and run.acknowledged:
        return False
    return _observe(client, run, entry.state, entry.error_msg, metrics_dict(entry.metrics))


def _observe(client: ZetaClient, run: Run, engine_state: EngineState, error: str | None, metrics: dict) -> bool:
    facts, written = record(
        run.id,
        lambda s: aggregate.observe(s, run_id=run.id, engine_state=engine_state, error=error, metrics=metrics),
        "sync",
    )
    if written and (facts.terminal or facts.state == RunState.PAUSED):
        _queue_log_fetch(run.id)  # off the sync path: one slow log must not hold up a cluster's other runs
    return written > 0


def _queue_log_fetch(run_id: str) -> None:
    from controlplane.jobs.tasks import fetch_run_log

    transaction.on_commit(lambda: fetch_run_log.delay(run_id))


def _requeue_submit(run: Run) -> None:
    from controlplane.jobs.tasks import submit_run

    submit_run.delay(run.id, run.attempts)


def fetch_log(run: Run, client: ZetaClient | None = None) -> str:
    """The engine's log text of the run's job, kept (its tail) with the run. Returns what was kept."""
    own = client is None
    if own:
        cluster = Cluster.unscoped.get(id=run.cluster_id)
        client = client_for(cluster)
    try:
        text = client.logs(run.engine_job_id)
    finally:
        if own:
            client.close()
    assert isinstance(text, str)
    text = text[-LOG_KEEP_CHARS:]
    RunTelemetry.unscoped.update_or_create(
        run_id=run.id,
        defaults={
            "tenant_id": run.tenant_id,
            "workspace_id": run.workspace_id,
            "log_text": text,
            "log_at": timezone.now(),
        },
    )
    return text
