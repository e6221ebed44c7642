"""The only writers of runs: what a person, a schedule or an operation asks for (start, stop, resume, cancel,
retry, reproduce, resolve), and what the runner learns from the engine (submitted, failed, observed, lost).
Each authorizes its actor first (job.run / job.stop, ADR 0018). The writers of jobs, versions and schedules are
in ``actions.py``; one module for both would pass 650 lines.

Talking to the engine happens in Celery tasks (``jobs.tasks``, ``jobs.runner``), queued after commit with ids only:
a request here records the intent as events and returns; the engine's answer arrives as further events.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.db import transaction

from controlplane.clusters.models import Cluster
from controlplane.clusters.selectors import live_cluster, matching_clusters
from controlplane.errors import DomainError
from controlplane.eventlog.aggregates import AggregateSpec, execute, execute_retrying, load
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.jobs import selectors
from controlplane.jobs.domain import run as aggregate
from controlplane.jobs.domain.run import RunAggregate
from controlplane.jobs.domain.runs import RunState, RunTransitionIllegal
from controlplane.jobs.models import Job, JobVersion, Run
from controlplane.seatunnel.config.secrets import SECRET_REF, secret_names
from controlplane.seatunnel.config.variables import render_variables, run_values
from controlplane.seatunnel.states import JobState as EngineState
from controlplane.secrets.selectors import secret_exists
from controlplane.tenancy.actions import check_quota

RUN = AggregateSpec[RunAggregate](
    name="jobs.run",
    initial=RunAggregate,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)


def run_stream(run_id: str) -> StreamRef:
    return StreamRef(type="jobs.run", id=f"run-{run_id}")


def load_run(run_id: str) -> tuple[RunAggregate, int]:
    return load(RUN, run_stream(run_id).id)


def new_engine_job_id() -> int:
    """A 63-bit id in the engine's snowflake shape (milliseconds, then randomness): chosen by us before the first
    submit, so a lost answer is reconciled by asking the engine for exactly this id."""
    return ((int(time.time() * 1000) - 1_600_000_000_000) << 22) | secrets.randbits(22)


def _enqueue_submit(run_id: str, attempts: int) -> None:
    from controlplane.jobs.tasks import submit_run  # tasks import actions: import here, at use

    transaction.on_commit(lambda: submit_run.delay(run_id, attempts))


def _enqueue_stop(run_id: str) -> None:
    from controlplane.jobs.tasks import stop_run

    transaction.on_commit(lambda: stop_run.delay(run_id))


def _enqueue_log_fetch(run_id: str) -> None:
    from controlplane.jobs.tasks import fetch_run_log

    transaction.on_commit(lambda: fetch_run_log.delay(run_id))


def choose_cluster(job: Job) -> Cluster:
    """The job's cluster, or for a cluster selector the best match now: reachable at its last poll first, then the
    most free slots, then by name (an unpolled cluster counts as reachable with no free slots known)."""
    if job.cluster_id:
        return live_cluster(job.tenant_id, job.workspace_id, job.cluster_id)
    matches = matching_clusters(job.tenant_id, job.workspace_id, job.cluster_selector)
    if not matches:
        raise DomainError(
            "no cluster of this workspace carries the job's selector labels",
            code="JOB_CLUSTER_SELECTOR_UNMATCHED",
            selector=job.cluster_selector,
        )
    health = selectors.cluster_health_for_system([c.id for c in matches])

    def rank(cluster: Cluster) -> tuple[bool, int, str]:
        seen = health.get(cluster.id)
        reachable = seen.reachable if seen is not None else True
        free = (seen.free_slots or 0) if seen is not None else 0
        return (not reachable, -free, cluster.name)

    return min(matches, key=rank)


def connectors(normalised: dict[str, Any]) -> dict[str, list[str]]:
    """Plugin names per kind, in config order: part of the manifest (what a run needs installed)."""
    result: dict[str, list[str]] = {}
    for kind in ("source", "transform", "sink"):
        items = normalised.get(kind) or []
        result[kind] = [str(i.get("plugin", "")) for i in items if isinstance(i, dict)]
    return result


def check_secret_refs(tenant_id: str, workspace_id: str, values: dict[str, Any]) -> None:
    """Every `[[secret:NAME]]` in variable values (defaults, a run's values) names a secret of the workspace."""
    for name, value in values.items():
        for match in SECRET_REF.finditer(value if isinstance(value, str) else ""):
            if not secret_exists(tenant_id, workspace_id, match[1]):
                raise DomainError(
                    f"variable {name} names no secret {match[1]!r}", code="JOB_CONFIG_SECRET_UNKNOWN", secret=match[1]
                )


def build_manifest(
    job: Job,
    version: JobVersion,
    cluster: Cluster,
    metadata: Metadata,
    note: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What this run is, frozen: config text exactly as stored (secrets stay references), engine, cluster, and the
    value of each job variable (a secret given as `[[secret:NAME]]` stays that reference)."""
    values = run_values(version.variables, variables)
    check_secret_refs(job.tenant_id, job.workspace_id, values)
    filled = render_variables(version.normalised, values)  # JOB_CONFIG_VARIABLE_UNRESOLVED now, not at submit
    return {
        "job": {"id": job.id, "name": job.name},
        "job_version": version.version,
        "format": version.format,
        "config_text": version.text,
        "normalised": version.normalised,
        "mode": version.mode,
        "engine_version": cluster.engine_version,
        "cluster": {"id": cluster.id, "name": cluster.name, "endpoints": cluster.endpoints},
        "cluster_selector": job.cluster_selector,  # how the cluster was chosen, when it was
        "connectors": connectors(version.normalised),
        "variables": values,
        "secrets": secret_names(filled),
        "started_by": f"{metadata.actor.kind}:{metadata.actor.id}",
        "note": note.strip()[:500],
    }


def _request(
    *,
    metadata: Metadata,
    job: Job,
    manifest: dict[str, Any],
    reason: str,
    retry_of: str | None = None,
    reproduces: str | None = None,
    allow_overlap: bool = False,
    run_id: str | None = None,
) -> str:
    if not allow_overlap and (active := selectors.active_run_for_system(job.id)) is not None:
        raise DomainError(
            f"run {active.id} of this job is still {active.state}: stop it first, or allow overlap",
            code="RUN_ACTIVE_EXISTS",
            run_id=active.id,
            state=active.state,
        )
    check_quota(job.tenant_id, "concurrent_runs", selectors.active_run_count_for_system(job.tenant_id))
    run_id = run_id or uuid.uuid4().hex
    execute(
        RUN,
        run_stream(run_id),
        lambda state: aggregate.request(
            state,
            run_id=run_id,
            job_id=job.id,
            tenant_id=job.tenant_id,
            workspace_id=job.workspace_id,
            cluster_id=manifest["cluster"]["id"],
            job_version=manifest["job_version"],
            engine_job_id=new_engine_job_id(),
            engine_job_name=f"{job.name[:80]}-{run_id[:8]}",
            manifest=manifest,
            reason=reason,
            retry_of=retry_of,
            reproduces=reproduces,
        ),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=0,
    )
    _enqueue_submit(run_id, 0)
    return run_id


def do_start_run(
    *,
    metadata: Metadata,
    job: Job,
    version: int | None = None,
    note: str = "",
    reason: str = "manual",
    allow_overlap: bool = False,
    run_id: str | None = None,
    variables: dict[str, Any] | None = None,
) -> str:
    """A new run of ``version`` (default: the current one) on the job's cluster. Returns the run id.
    ``variables``: values for the version's declared job variables (the others keep their defaults)."""
    authorize(metadata, "job.run", tenant_id=job.tenant_id, workspace_id=job.workspace_id, obj=job)
    if any(isinstance(value, str) and SECRET_REF.search(value) for value in (variables or {}).values()):
        # A secret put into a variable lands wherever the config uses it (a sink's URL, a table name): writing a
        # config, as an Admin does (job.update), not running one (docs/SECURITY.md).
        authorize(metadata, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id, obj=job)
    if job.deleted:
        raise DomainError("no such job", code="JOB_NOT_FOUND")
    number = version or job.current_version
    row = selectors.version_for_system(job.id, number)
    if row is None:
        raise DomainError(f"job has no version {number}", code="JOB_VERSION_NOT_FOUND", field="version")
    cluster = choose_cluster(job)
    manifest = build_manifest(job, row, cluster, metadata, note, variables)
    return _request(
        metadata=metadata, job=job, manifest=manifest, reason=reason, allow_overlap=allow_overlap, run_id=run_id
    )


def _from_manifest(run: Run, metadata: Metadata, note: str) -> tuple[Job, dict[str, Any]]:
    job = selectors.live_job_for_system(run.job_id)
    if job is None:
        raise DomainError("the run's job was deleted", code="JOB_NOT_FOUND")
    cluster = live_cluster(run.tenant_id, run.workspace_id, run.manifest["cluster"]["id"])
    manifest = {
        **run.manifest,
        "engine_version": cluster.engine_version,
        "cluster": {"id": cluster.id, "name": cluster.name, "endpoints": cluster.endpoints},
        "started_by": f"{metadata.actor.kind}:{metadata.actor.id}",
        "note": note.strip()[:500],
    }
    return job, manifest


def do_retry_run(*, metadata: Metadata, run: Run, note: str = "", allow_overlap: bool = False) -> str:
    """A new run of the same manifest, linked to the FAILED or STOPPED one."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    state, _ = load_run(run.id)
    aggregate.check_retry(state, run_id=run.id)
    job, manifest = _from_manifest(run, metadata, note)
    return _request(
        metadata=metadata, job=job, manifest=manifest, reason="retry", retry_of=run.id, allow_overlap=allow_overlap
    )


def do_reproduce_run(*, metadata: Metadata, run: Run, note: str = "", allow_overlap: bool = False) -> str:
    """A new run from any run's manifest: the same config text, on the same cluster."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    job, manifest = _from_manifest(run, metadata, note)
    return _request(
        metadata=metadata,
        job=job,
        manifest=manifest,
        reason="reproduce",
        reproduces=run.id,
        allow_overlap=allow_overlap,
    )


def _scoped(metadata: Metadata, run: Run) -> Metadata:
    return replace(metadata, tenant_id=run.tenant_id, workspace_id=run.workspace_id)


def do_stop_run(*, metadata: Metadata, run: Run, savepoint: bool = False, expected_version: int | None = None) -> None:
    """Stop (cancel on the engine) or, with ``savepoint``, pause a run; the engine is asked after commit."""
    authorize(metadata, "job.stop", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    recorded = execute(
        RUN,
        run_stream(run.id),
        lambda state: aggregate.stop(state, run_id=run.id, savepoint=savepoint),
        _scoped(metadata, run),
        expected_version=expected_version,
    )
    if recorded:
        _enqueue_stop(run.id)


def do_resume_run(*, metadata: Metadata, run: Run, expected_version: int | None = None) -> None:
    """Start a PAUSED run again from its savepoint, under the same engine job id."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    state, version = load_run(run.id)
    if expected_version is not None and expected_version != version:
        raise ConcurrencyConflict(
            f"run {run.id} is at version {version}, not {expected_version}",
            stream_id=run_stream(run.id).id,
            expected_version=expected_version,
            actual_version=version,
        )
    if state.state != RunState.PAUSED:
        raise RunTransitionIllegal(
            f"only a PAUSED run is resumed, this one is {state.state}",
            current=str(state.state),
            target=str(RunState.SUBMITTING),
        )
    _enqueue_submit(run.id, state.attempts)


def do_cancel_run(*, metadata: Metadata, run: Run, expected_version: int | None = None) -> None:
    authorize(metadata, "job.stop", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    execute(
        RUN,
        run_stream(run.id),
        lambda state: aggregate.cancel(state, run_id=run.id),
        _scoped(metadata, run),
        expected_version=expected_version,
    )


def do_resolve_run(
    *, metadata: Metadata, run: Run, state: str, reason: str, expected_version: int | None = None
) -> None:
    """An operator settles an UNKNOWN run, saying what the evidence is."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    try:
        target = RunState(state)
    except ValueError:
        raise DomainError(f"{state!r} is not a run state", code="VALIDATION_FAILED", field="state") from None
    execute(
        RUN,
        run_stream(run.id),
        lambda facts: aggregate.resolve(facts, run_id=run.id, target=target, reason=reason),
        _scoped(metadata, run),
        expected_version=expected_version,
    )


# -- what the runner learns from the engine ---------------------------------------------------------------
# The runner (a system actor naming its task) calls these; each records one kind of evidence. A concurrent writer
# (the API, another worker) makes it decide again on fresh state, as workers do (no version a person saw).


def _record(metadata: Metadata, run: Run, decide: Callable[[RunAggregate], list[object]]) -> tuple[RunAggregate, int]:
    """Load, decide, append: the run's facts after it and how many events were written."""
    try:
        facts, recorded = execute_retrying(RUN, run_stream(run.id), decide, _scoped(metadata, run))
    except ConcurrencyConflict:
        raise DomainError(f"run {run.id} kept changing under the worker", code="RUN_BUSY", run_id=run.id) from None
    return facts, len(recorded)


def do_record_run_submission_started(*, metadata: Metadata, run: Run) -> RunAggregate:
    """The submit request is about to leave (``run_submission_started``): a later attempt reconciles first."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    return _record(metadata, run, lambda s: aggregate.begin_submission(s, run_id=run.id))[0]


def do_record_run_submitted(*, metadata: Metadata, run: Run, found_by_reconcile: bool) -> RunAggregate:
    """The engine has the job (``run_submitted``): it answered the submit, or it was found asking by id."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    return _record(
        metadata, run, lambda s: aggregate.acknowledge(s, run_id=run.id, found_by_reconcile=found_by_reconcile)
    )[0]


def do_record_run_submit_outcome_unknown(
    *, metadata: Metadata, run: Run, code: str, message: str, settle: bool = False
) -> RunAggregate:
    """The submit's answer was lost (``run_submit_outcome_unknown``): the next attempt asks the engine by id.
    ``settle``: the last attempt of the retry budget: the run becomes UNKNOWN instead of waiting for another."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    return _record(
        metadata,
        run,
        lambda s: aggregate.submit_outcome_unknown(s, run_id=run.id, code=code, message=message, settle=settle),
    )[0]


def do_record_run_submit_failed(*, metadata: Metadata, run: Run, code: str, message: str) -> RunAggregate:
    """The engine refused the job, or it could not be sent (the run FAILS with ``code``)."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    return _record(metadata, run, lambda s: aggregate.submit_failed(s, run_id=run.id, code=code, message=message))[0]


def do_record_run_stopped_unsent(*, metadata: Metadata, run: Run) -> RunAggregate:
    """A run stopped before the engine ever had it: STOPPED without asking the engine."""
    authorize(metadata, "job.stop", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    return _record(metadata, run, lambda s: aggregate.stopped_unsent(s, run_id=run.id))[0]


def do_record_run_lost(*, metadata: Metadata, run: Run) -> int:
    """The engine no longer knows the run's job: UNKNOWN (``ZETA_JOB_NOT_FOUND``). Returns the events written."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    return _record(metadata, run, lambda s: aggregate.engine_lost(s, run_id=run.id))[1]


def do_record_run_observed(
    *, metadata: Metadata, run: Run, engine_state: EngineState, error: str | None, metrics: dict[str, Any]
) -> int:
    """What the engine says of the run's job moves the run (events only when its state changes). Returns the events
    written. A run that ended or paused gets its engine log kept after commit."""
    authorize(metadata, "job.run", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    facts, written = _record(
        metadata,
        run,
        lambda s: aggregate.observe(s, run_id=run.id, engine_state=engine_state, error=error, metrics=metrics),
    )
    if written and (facts.terminal or facts.state == RunState.PAUSED):
        _enqueue_log_fetch(run.id)  # off the sync path: one slow log must not hold up a cluster's other runs
    return written
