"""Runs meet the engine: submit, stop, the sync loop (one poll per cluster per interval, not one per run) and the
engine's log of a run: the side effects of long steps, called from Celery tasks (``jobs.tasks``) and the log view.

Every decision goes through the run aggregate, recorded by the named writers of ``run_actions`` under the system
actor the caller names; the engine's answers are evidence, never guesses:

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

from django.utils import timezone

from controlplane.clusters.connect import client_for
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import run_actions, selectors, throughput
from controlplane.jobs.domain.run import RunAggregate
from controlplane.jobs.domain.runs import RunState, from_engine
from controlplane.jobs.models import Run, RunTelemetry
from controlplane.jobs.run_actions import load_run
from controlplane.jobs.upcasters import flat_normal_form
from controlplane.outbound.policy import OutboundTargetForbidden
from controlplane.seatunnel.client import (
    JobMetrics,
    JobSummary,
    ZetaClient,
    ZetaError,
    ZetaJobNotFound,
    ZetaLogsUnreachable,
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
from controlplane.tenancy import context

log = logging.getLogger(__name__)

# A submit or stop not settled after this long is asked again by the sync loop (its task may have been lost).
STALE_AFTER = timedelta(seconds=60)
LOG_KEEP_CHARS = 256 * 1024  # the tail of an engine log kept with a run
LOG_REFRESH_AFTER = timedelta(seconds=2)  # a live run's log is fetched again at most this often
LIVE = (RunState.SUBMITTING, RunState.RUNNING, RunState.STOPPING)
SYNC_REASON = "jobs.sync_runs"  # the system actor of the sync loop's events


def metrics_dict(metrics: JobMetrics) -> dict[str, Any]:
    """JSON-safe: Decimals become strings (as the engine sends them), never floats."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(metrics).items()}


# -- submit -----------------------------------------------------------------------------------------------
class SubmitLater(Exception):
    """The cluster could not be reached: nothing was sent. The task retries with backoff."""


def submit(run: Run, attempts: int, *, metadata: Metadata, give_up: bool = False) -> RunAggregate:
    """Send the run's submission (or resume) once, reconciling first if an earlier attempt may have reached the
    engine. ``attempts``: how many attempts the run had when this was queued; a task that finds the run moved on
    since (a duplicate, or a late redelivery) does nothing. ``give_up``: the last try: a cluster that cannot be
    reached fails the run instead of waiting. ``metadata``: the system actor of the caller, in the run's tenant."""
    facts, _ = load_run(run.id)
    if (
        not facts.exists
        or facts.attempts != attempts
        or (facts.acknowledged and facts.state != RunState.PAUSED)
        or facts.state not in (RunState.PENDING, RunState.PAUSED, RunState.SUBMITTING, RunState.STOPPING)
    ):
        return facts  # nothing to send: done already, or settled by someone else
    cluster = selectors.cluster_for_system(facts.cluster_id)
    if cluster is None:
        return _fail(metadata, run, "CLUSTER_NOT_FOUND", "the run's cluster was removed")
    try:
        with client_for(cluster) as client:
            return _submit(client, run, facts, metadata, give_up=give_up)
    except OutboundTargetForbidden as error:  # refused before anything was sent: retrying cannot help
        return _fail(metadata, run, error.code, error.message)
    except ZetaUnreachable as error:
        if give_up and facts.state == RunState.SUBMITTING:
            # an earlier attempt was sent and the engine could not be asked since: it may have the job
            return run_actions.do_record_run_submit_outcome_unknown(
                metadata=metadata,
                run=run,
                code="ZETA_SUBMIT_OUTCOME_UNKNOWN",
                message=f"the cluster could not be asked whether it has the job: {error.message}",
                settle=True,
            )
        if give_up:
            return _fail(metadata, run, error.code, f"{error.message}: {error.details.get('last_error', '')}")
        raise SubmitLater(error.message) from error


def _submit(client: ZetaClient, run: Run, facts: RunAggregate, metadata: Metadata, *, give_up: bool) -> RunAggregate:
    if facts.state in (RunState.SUBMITTING, RunState.STOPPING) and _found(client, facts):
        facts = run_actions.do_record_run_submitted(metadata=metadata, run=run, found_by_reconcile=True)
        if facts.state == RunState.STOPPING:
            _send_stop(client, facts)
        return facts
    if facts.state == RunState.STOPPING:
        return run_actions.do_record_run_stopped_unsent(metadata=metadata, run=run)
    manifest = run.manifest
    # A manifest written before dotted keys were kept flat holds the split form, which the engine ignores or
    # refuses (ZETA_FACTS §3.1): what is sent is always the flat form, read again from the manifest's text.
    normalised, _ = flat_normal_form(
        manifest["normalised"], text=manifest.get("config_text"), fmt=manifest.get("format", "auto")
    )
    try:
        filled = render_variables(normalised, manifest.get("variables", {}))
    except JobConfigVariableUnresolved as error:  # a manifest from before job variables
        return _fail(metadata, run, error.code, error.message)
    try:
        config = engine_form(render_secrets(filled, _resolver(facts)))
    except (SecretNotFound, SecretUnresolved) as error:
        return _fail(metadata, run, "SECRET_NOT_FOUND", f"a secret the config names is gone: {error}")
    client.version()  # reach the cluster first: unreachable now means nothing was sent and nothing is recorded
    facts = run_actions.do_record_run_submission_started(metadata=metadata, run=run)
    try:
        client.submit_job(
            config, job_id=facts.engine_job_id, job_name=run.engine_job_name, start_with_savepoint=facts.resuming
        )
    except ZetaSubmitOutcomeUnknown as error:
        facts = run_actions.do_record_run_submit_outcome_unknown(
            metadata=metadata, run=run, code=error.code, message=error.message, settle=give_up
        )
        if give_up:  # the retry budget is spent: UNKNOWN until a poll sees the job or an operator decides
            return facts
        raise SubmitLater(error.message) from error
    except ZetaRequestRejected as error:
        if "has already been submitted" in error.message or "currently running" in error.message:
            return run_actions.do_record_run_submitted(metadata=metadata, run=run, found_by_reconcile=True)
        return _fail(metadata, run, error.code, error.message)
    except ZetaUnreachable:
        raise
    except ZetaError as error:  # auth refused, a malformed answer: the engine did not take the job
        return _fail(metadata, run, error.code, error.message)
    return run_actions.do_record_run_submitted(metadata=metadata, run=run, found_by_reconcile=False)


def _found(client: ZetaClient, facts: RunAggregate) -> bool:
    """Does the engine have the current submission? None from ``find_job`` (the engine's `{"jobId": id}` with
    no status) means it never got it: the caller sends it again under the same id. For a resume, the old paused
    job does not count."""
    info = client.find_job(facts.engine_job_id)
    if info is None:
        return False
    return not (facts.resuming and info.state == EngineState.SAVEPOINT_DONE)


def _resolver(facts: RunAggregate) -> Callable[[list[str]], dict[str, str]]:
    return lambda names: resolve_secret_refs(facts.tenant_id, facts.workspace_id, names)


def _fail(metadata: Metadata, run: Run, code: str, message: str) -> RunAggregate:
    return run_actions.do_record_run_submit_failed(metadata=metadata, run=run, code=code, message=message)


# -- stop -------------------------------------------------------------------------------------------------
def stop(run: Run, *, metadata: Metadata) -> RunAggregate:
    """Ask the engine to stop (or pause) a STOPPING run. Stopping is idempotent on the engine."""
    facts, _ = load_run(run.id)
    if facts.state != RunState.STOPPING:
        return facts
    if not facts.acknowledged:  # the engine may not have it: reconcile, then stop or settle
        return submit(run, facts.attempts, metadata=metadata)
    cluster = selectors.cluster_for_system(facts.cluster_id)
    if cluster is None:
        return facts
    with client_for(cluster) as client:
        _send_stop(client, facts)
    return facts


def _send_stop(client: ZetaClient, facts: RunAggregate) -> None:
    client.stop_job(facts.engine_job_id, savepoint=bool(facts.stop_savepoint))


# -- sync -------------------------------------------------------------------------------------------------
@dataclass
class SyncResult:
    cluster_id: str
    runs: int = 0  # watched runs looked at
    changed: int = 0  # runs with new events
    error: str = ""
    requeued: list[str] = field(default_factory=list)


def sync_cluster(cluster_id: str, *, client: ZetaClient | None = None) -> SyncResult:
    """One poll of one cluster (running + finished jobs) settles all its watched runs. A cluster and its runs
    belong to one tenant and workspace: the loop acts as the system (``jobs.sync_runs``) there."""
    result = SyncResult(cluster_id=cluster_id)
    runs = selectors.watched_runs_for_system(cluster_id)
    result.runs = len(runs)
    if not runs:
        return result
    cluster = selectors.cluster_for_system(cluster_id)
    if cluster is None:
        result.error = "CLUSTER_NOT_FOUND"
        return result
    metadata = Metadata.for_system(cluster.tenant_id, reason=SYNC_REASON, workspace_id=cluster.workspace_id)
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
                changed = _sync_run(client, metadata, run, entries.get(run.engine_job_id), now, telemetry, result)
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
    MySQL takes no conflict target and Oracle has no upsert in Django). The rows are of one cluster, so of one
    tenant and workspace: bound here, the scoped manager reaches exactly them. Each row keeps the ring of recent
    readings its rates are computed from (``throughput.with_sample``)."""
    with context.bound(rows[0].tenant_id, rows[0].workspace_id):
        known = dict(RunTelemetry.objects.filter(run_id__in=[r.run_id for r in rows]).values_list("run_id", "metrics"))
        for row in rows:
            row.metrics = throughput.with_sample(known.get(row.run_id), row.metrics, row.metrics_at or timezone.now())
        RunTelemetry.objects.bulk_update(
            [r for r in rows if r.run_id in known], ["metrics", "metrics_at"], batch_size=500
        )
        RunTelemetry.objects.bulk_create([r for r in rows if r.run_id not in known], batch_size=500)


def _engine_jobs(client: ZetaClient) -> dict[int, JobSummary]:
    entries = {job.job_id: job for job in client.finished_jobs()}
    entries.update({job.job_id: job for job in client.running_jobs()})  # a resumed job is in both: running wins
    return entries


def _sync_run(
    client: ZetaClient,
    metadata: Metadata,
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
        # Not listed: expired history or an engine restart; one direct question decides. An expired job is
        # answered like one never submitted (no status): lost, not an engine state such as UNKNOWABLE.
        info = client.find_job(run.engine_job_id)
        if info is None:
            return run_actions.do_record_run_lost(metadata=metadata, run=run) > 0
        return _observe(metadata, run, info.state, info.error_msg, metrics_dict(info.metrics))
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
    return _observe(metadata, run, entry.state, entry.error_msg, metrics_dict(entry.metrics))


def _observe(metadata: Metadata, run: Run, engine_state: EngineState, error: str | None, metrics: dict) -> bool:
    written = run_actions.do_record_run_observed(
        metadata=metadata, run=run, engine_state=engine_state, error=error, metrics=metrics
    )
    return written > 0


def _requeue_submit(run: Run) -> None:
    from controlplane.jobs.tasks import submit_run

    submit_run.delay(run.id, run.attempts)


@dataclass(frozen=True)
class FetchedLog:
    """What one fetch of a run's log kept, and the files it could not read (node, file, why)."""

    text: str
    unread: list[dict[str, str]]

    def error(self) -> dict[str, Any] | None:
        """``fetch_error`` of a log page when some files could not be read: the code and the members."""
        if not self.unread:
            return None
        nodes = sorted({f["node"] for f in self.unread})
        return {
            "code": ZetaLogsUnreachable.code,
            "message": f"the log files on {', '.join(nodes)} could not be read; the others are shown",
            "nodes": nodes,
        }


def fetch_log(run: Run, client: ZetaClient | None = None) -> FetchedLog:
    """The engine's log of the run's job: every file the engine lists, fetched from the member holding it, kept
    (the tail) with the run. A member that cannot be reached costs its file only: the text of the others is kept
    and ``unread`` names it. ZetaLogsUnreachable when no file could be read (what was kept before stays)."""
    own = client is None
    if client is None:
        cluster = selectors.cluster_for_system(run.cluster_id)
        if cluster is None:
            raise ZetaUnreachable("the run's cluster was removed")
        client = client_for(cluster)
    try:
        files = client.job_logs(run.engine_job_id)
    finally:
        if own:
            client.close()
    if not files:
        raise ZetaJobNotFound(f"no logs for job {run.engine_job_id}", job_id=run.engine_job_id)
    unread = [
        {"node": f.node, "name": f.name, "code": f.error.code if f.error is not None else "ZETA_ERROR"}
        for f in files
        if f.text is None
    ]
    if len(unread) == len(files):
        raise ZetaLogsUnreachable(
            f"no member holding a log file of job {run.engine_job_id} answered",
            job_id=run.engine_job_id,
            nodes=sorted({f["node"] for f in unread}),
        )
    read = [f for f in files if f.text is not None]
    if len(files) == 1:
        text = read[0].text or ""
    else:  # several members' files one after the other, each under a header naming where it came from
        text = "\n".join(f"==> {f.node} {f.name} <==\n{f.text}" for f in read)
    text = text[-LOG_KEEP_CHARS:]
    with context.bound(run.tenant_id, run.workspace_id):  # the run's own row, through the scoped manager
        RunTelemetry.objects.update_or_create(
            run_id=run.id,
            defaults={
                "tenant_id": run.tenant_id,
                "workspace_id": run.workspace_id,
                "log_text": text,
                "log_at": timezone.now(),
            },
        )
    return FetchedLog(text=text, unread=unread)


@dataclass(frozen=True)
class LogPage:
    """Lines of a run's engine log: ``lines`` start at line ``first_line``; ``next`` is where a follower asks on.
    ``fetch_error``: why the lines are not (all) fresh: ``code``, ``message`` and, for log files on members that
    could not be reached (ZETA_LOGS_UNREACHABLE), ``nodes``."""

    lines: list[str]
    first_line: int
    next: int
    live: bool
    fetch_error: dict[str, Any] | None


def log_page(run: Run, *, tail: int, after: int | None = None) -> LogPage:
    """The run's log, the last ``tail`` lines or those ``after`` a line. A live run's log (or one never kept) is
    fetched from the engine first, at most every LOG_REFRESH_AFTER; when the engine cannot be asked, what was
    kept is shown and ``fetch_error`` says why it is not fresher."""
    telemetry = selectors.telemetry_get(run)
    kept = telemetry.log_text if telemetry else ""
    stale = telemetry is None or telemetry.log_at is None or timezone.now() - telemetry.log_at > LOG_REFRESH_AFTER
    fetch_error: dict[str, Any] | None = None
    text = kept
    if run.acknowledged and stale and (run.state in LIVE or telemetry is None or telemetry.log_at is None):
        try:
            fetched = fetch_log(run)
        except ZetaError as error:
            fetch_error = {"code": error.code, "message": error.message}
            if "nodes" in error.details:
                fetch_error["nodes"] = list(error.details["nodes"])
        else:
            text, fetch_error = fetched.text, fetched.error()
    lines = text.splitlines()
    first = after if after is not None else max(len(lines) - tail, 0)
    return LogPage(lines[first:], first, len(lines), run.state in LIVE, fetch_error)
