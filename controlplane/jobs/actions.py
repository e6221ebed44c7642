"""The only writers of jobs, their config versions and their schedules (firing included); the writers of runs are in
``run_actions.py``. Each authorizes its actor first (job.create / job.update / job.delete / job.run, ADR 0018).

Every config change is a new immutable version, validated against the target cluster's connector catalog and
the workspace's secrets before anything is written; a roll back is a new version equal to an old one. A version
carries the job variables its `${name}` references use (declared with the config, filled in when a run starts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import transaction

from controlplane.clusters.domain.aggregate import check_labels
from controlplane.clusters.models import Cluster
from controlplane.clusters.selectors import live_cluster, matching_clusters
from controlplane.errors import DomainError
from controlplane.eventlog.aggregates import AggregateSpec, execute, load
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.jobs import selectors
from controlplane.jobs.domain import aggregate
from controlplane.jobs.domain.aggregate import JobState
from controlplane.jobs.domain.schedule import due
from controlplane.jobs.models import Job
from controlplane.jobs.run_actions import check_secret_refs, do_start_run
from controlplane.seatunnel.catalog import catalog_for
from controlplane.seatunnel.config.normal import option_value
from controlplane.seatunnel.config.validate import check
from controlplane.seatunnel.config.variables import check_declarations
from controlplane.seatunnel.states import parse_version
from controlplane.secrets.selectors import secret_exists
from controlplane.tenancy.actions import check_quota

JOB = AggregateSpec[JobState](
    name="jobs.job",
    initial=JobState,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
    snapshot_every=20,  # a job's state carries every version's text: keep replays short
    snapshot_schema=2,  # 2: versions' normal forms with flat dotted keys (older snapshots hold split ones)
)


@dataclass(frozen=True)
class Fired:
    """What one fire time did: the run it started, or why it was skipped."""

    job_id: str
    fire_at: str
    run_id: str | None
    skipped: str | None


def job_stream(job_id: str) -> StreamRef:
    return StreamRef(type="jobs.job", id=f"job-{job_id}")


def targets(tenant_id: str, workspace_id: str, cluster_id: str, selector: dict[str, str]) -> list[Cluster]:
    """The clusters a job may run on: its one cluster, or every cluster its selector matches (at least one)."""
    if bool(cluster_id) == bool(selector):
        raise DomainError(
            "give either cluster_id or cluster_selector", code="JOB_CLUSTER_TARGET_INVALID", field="cluster_id"
        )
    if cluster_id:
        return [live_cluster(tenant_id, workspace_id, cluster_id)]
    check_labels(selector)
    matches = matching_clusters(tenant_id, workspace_id, selector)
    if not matches:
        raise DomainError(
            "no cluster of this workspace carries these labels",
            code="JOB_CLUSTER_SELECTOR_UNMATCHED",
            field="cluster_selector",
        )
    return matches


def _validated(
    tenant_id: str, workspace_id: str, clusters: list[Cluster], text: str, fmt: str, variables: Any
) -> dict[str, Any]:
    """Validated against the catalog of every engine version the job may run on (the oldest first)."""
    declared = check_declarations(variables)
    check_secret_refs(tenant_id, workspace_id, {d["name"]: d["default"] for d in declared if "default" in d})
    for engine_version in sorted({c.engine_version for c in clusters}, key=parse_version):
        parsed = check(
            text,
            fmt=fmt,
            catalog=catalog_for(engine_version),
            secret_exists=lambda name: secret_exists(tenant_id, workspace_id, name),
            variables=declared,
        )
    # `job.mode` is one flat key now (ZETA_FACTS §3.1); option_value also reads a nested one, as the engine does
    mode = str(option_value(parsed.normalised.get("env", {}), "job.mode") or "").upper()
    return {
        "format": parsed.format,
        "text": parsed.text,
        "normalised": parsed.normalised,
        "mode": mode,
        "variables": declared,
        "ambiguous": [],  # read from its text: every key as written
    }


def do_create_job(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    name: str,
    config: str,
    cluster_id: str = "",
    cluster_selector: dict[str, str] | None = None,
    format: str = "auto",
    description: str = "",
    labels: dict[str, str] | None = None,
    message: str = "",
    variables: list[dict[str, Any]] | None = None,
) -> str:
    """A job on one cluster (``cluster_id``) or on any cluster carrying the labels of ``cluster_selector``.
    ``variables``: the job variables the config's `${name}` references use, each ``{"name", "default"?}``."""
    authorize(metadata, "job.create", tenant_id=tenant_id, workspace_id=workspace_id)
    aggregate.check_name(name)
    clusters = targets(tenant_id, workspace_id, cluster_id, cluster_selector or {})
    version = _validated(tenant_id, workspace_id, clusters, config, format, variables)
    check_quota(tenant_id, "jobs", selectors.job_count_for_system(tenant_id))
    job_id = uuid.uuid4().hex
    execute(
        JOB,
        job_stream(job_id),
        lambda state: aggregate.create(
            state,
            job_id=job_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=name,
            description=description,
            labels=labels or {},
            cluster_id=cluster_id and clusters[0].id,
            cluster_selector=cluster_selector or {},
            version=version,
            message=message or "created",
        ),
        replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id),
    )
    return job_id


def do_revise_job(
    *,
    metadata: Metadata,
    job: Job,
    config: str,
    format: str = "auto",
    message: str = "",
    expected_version: int | None = None,
    variables: list[dict[str, Any]] | None = None,
) -> int:
    """A new config version (nothing when the text and variables are unchanged). Returns the job's current version
    number. ``variables`` None keeps the current version's declarations."""
    authorize(metadata, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    if variables is None:
        current = selectors.version_for_system(job.id, job.current_version)
        variables = current.variables if current is not None else []
    clusters = targets(job.tenant_id, job.workspace_id, job.cluster_id, job.cluster_selector)
    version = _validated(job.tenant_id, job.workspace_id, clusters, config, format, variables)
    recorded = execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.revise(state, job_id=job.id, version=version, message=message),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )
    return recorded[-1].data.version if recorded else job.current_version


def do_roll_back_job(
    *, metadata: Metadata, job: Job, to_version: int, message: str = "", expected_version: int | None = None
) -> int:
    """A new version equal to ``to_version``. Returns its number."""
    authorize(metadata, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    recorded = execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.roll_back(state, job_id=job.id, to_version=to_version, message=message),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )
    return recorded[-1].data.version


def do_update_job(
    *, metadata: Metadata, job: Job, changes: dict[str, Any], expected_version: int | None = None
) -> None:
    """Name, description, labels or target (one cluster, or a cluster selector)."""
    authorize(metadata, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    if "cluster_id" in changes or "cluster_selector" in changes:
        # one target replaces the other: naming a cluster drops the selector and the other way round
        cluster_id = changes.get("cluster_id", "" if changes.get("cluster_selector") else job.cluster_id)
        selector = changes.get("cluster_selector", {} if cluster_id else job.cluster_selector)
        targets(job.tenant_id, job.workspace_id, cluster_id, selector)
        changes = {**changes, "cluster_id": cluster_id, "cluster_selector": selector}
    execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.update(state, job_id=job.id, changes=changes),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )


def do_delete_job(*, metadata: Metadata, job: Job, expected_version: int | None = None) -> None:
    """Delete a job (its versions and runs stay in the log and the read models). Refused while a run is active."""
    authorize(metadata, "job.delete", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    active = selectors.active_run_for_system(job.id)
    if active is not None:
        raise DomainError(
            f"run {active.id} of this job is still {active.state}: stop it first",
            code="JOB_ACTIVE_RUNS_EXIST",
            run_id=active.id,
        )
    execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.delete(state, job_id=job.id),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )


def do_set_schedule(
    *,
    metadata: Metadata,
    job: Job,
    cron: str,
    timezone: str = "UTC",
    enabled: bool = True,
    allow_overlap: bool = False,
    expected_version: int | None = None,
) -> None:
    """Run the job on a 5-field cron expression in a time zone."""
    authorize(metadata, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.set_schedule(
            state, job_id=job.id, cron_expr=cron, timezone=timezone, enabled=enabled, allow_overlap=allow_overlap
        ),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )


def do_remove_schedule(*, metadata: Metadata, job: Job, expected_version: int | None = None) -> None:
    authorize(metadata, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.remove_schedule(state, job_id=job.id),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )


_SCHEDULED_RUNS = uuid.UUID("7f1c0a52-5d5e-4c41-9d0e-5b1f3c2a9e10")  # namespace of scheduled run ids


def scheduled_run_id(job_id: str, fire_at: str) -> str:
    """The run of one fire time: derived from (job, fire time), so two schedulers cannot start it twice."""
    return uuid.uuid5(_SCHEDULED_RUNS, f"{job_id}@{fire_at}").hex


def do_fire_schedule(*, metadata: Metadata, job: Job, now: datetime) -> Fired | None:
    """Handle the schedule's latest fire time that has come (the earlier ones count as missed): start its run, or
    record why it was skipped, in one transaction with the fire (``job_schedule_fired``) under the job's version
    that was read. None when nothing is due. A ConcurrencyConflict means another scheduler (or a person) moved the
    job first: nothing was written."""
    authorize(metadata, "job.run", tenant_id=job.tenant_id, workspace_id=job.workspace_id, obj=job)
    state, version = load(JOB, job_stream(job.id).id)
    schedule = state.schedule
    if state.deleted or schedule is None or not schedule["enabled"]:
        return None
    fire, missed = due(schedule["cron"], schedule["timezone"], datetime.fromisoformat(schedule["since"]), now)
    if fire is None:
        return None
    fire_at = fire.isoformat()
    run_id: str | None = None
    skipped: str | None = None
    with transaction.atomic():
        try:
            run_id = do_start_run(
                metadata=metadata,
                job=job,
                reason="schedule",
                note=f"scheduled for {fire_at}",
                allow_overlap=schedule["allow_overlap"],
                run_id=scheduled_run_id(job.id, fire_at),
            )
        except ConcurrencyConflict:
            raise
        except DomainError as error:  # a run still active, the cluster gone, a quota: say so, do not retry
            skipped = f"{error.code}: {error.message}"[:200]
        execute(
            JOB,
            job_stream(job.id),
            lambda s: aggregate.fired(s, job_id=job.id, fire_at=fire_at, run_id=run_id, skipped=skipped, missed=missed),
            replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
            expected_version=version,
        )
    return Fired(job_id=job.id, fire_at=fire_at, run_id=run_id, skipped=skipped)
