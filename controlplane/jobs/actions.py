"""The only writers of jobs. Callers authorize first (job.create / job.update / job.delete).

Every config change is a new immutable version, validated against the target cluster's connector catalog and
the workspace's secrets before anything is written; a roll back is a new version equal to an old one. A version
carries the job variables its `${name}` references use (declared with the config, filled in when a run starts).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from controlplane.clusters.domain.aggregate import check_labels
from controlplane.clusters.models import Cluster
from controlplane.clusters.selectors import live_cluster, matching_clusters
from controlplane.errors import DomainError
from controlplane.eventlog.aggregates import AggregateSpec, execute
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.jobs.domain import aggregate
from controlplane.jobs.domain.aggregate import JobState
from controlplane.jobs.models import Job, JobVersion
from controlplane.jobs.run_actions import active_run_of, check_secret_refs
from controlplane.seatunnel.catalog import catalog_for
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
)


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
    env = parsed.normalised.get("env", {})
    mode = str(env.get("job", {}).get("mode", "")).upper()
    return {
        "format": parsed.format,
        "text": parsed.text,
        "normalised": parsed.normalised,
        "mode": mode,
        "variables": declared,
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
    aggregate.check_name(name)
    clusters = targets(tenant_id, workspace_id, cluster_id, cluster_selector or {})
    version = _validated(tenant_id, workspace_id, clusters, config, format, variables)
    check_quota(tenant_id, "jobs", Job.unscoped.filter(tenant_id=tenant_id, deleted=False).count())
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
    if variables is None:
        current = JobVersion.unscoped.filter(job_id=job.id, version=job.current_version).first()
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
    active = active_run_of(job.id)
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
    execute(
        JOB,
        job_stream(job.id),
        lambda state: aggregate.remove_schedule(state, job_id=job.id),
        replace(metadata, tenant_id=job.tenant_id, workspace_id=job.workspace_id),
        expected_version=expected_version,
    )
