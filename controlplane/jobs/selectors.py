"""The readers of jobs, versions, schedules and runs.

Views read through the tenant-scoped managers (``Model.objects``: the request's bound tenant and workspace, nothing
when none is bound). Tasks, the runner, the scheduler and the writers' own checks cross tenants by id: those
readers end in ``_for_system``; the console's, which show every tenant to platform staff, in ``_for_platform``.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from controlplane.clusters.models import Cluster, Health
from controlplane.eventlog.records import RecordedEvent
from controlplane.eventlog.store import read_stream
from controlplane.jobs.domain.runs import TERMINAL, RunState
from controlplane.jobs.models import Job, JobSchedule, JobVersion, Run, RunTelemetry

ACTIVE = tuple(str(s) for s in RunState if s not in TERMINAL)
# Runs the sync loop looks at. PENDING is watched only to re-queue a submit task that was lost.
WATCHED = tuple(
    str(s) for s in (RunState.PENDING, RunState.SUBMITTING, RunState.RUNNING, RunState.STOPPING, RunState.UNKNOWN)
)


# -- the bound tenant (views) --------------------------------------------------------------------------------
def job_list() -> QuerySet[Job]:
    """The live jobs of the bound tenant and workspace."""
    return Job.objects.filter(deleted=False)


def job_get(job_id: str) -> Job | None:
    return job_list().filter(id=job_id).first()


def version_list(job: Job) -> QuerySet[JobVersion]:
    """Every version of the job, newest first."""
    return JobVersion.objects.filter(job_id=job.id).order_by("-version")


def version_get(job: Job, number: int) -> JobVersion | None:
    return JobVersion.objects.filter(job_id=job.id, version=number).first()


def version_at(job: Job, moment: datetime) -> JobVersion | None:
    """The version that was current at ``moment``."""
    return version_list(job).filter(created_at__lte=moment).first()


def versions_by_number(job: Job, numbers: list[int]) -> dict[int, JobVersion]:
    return {v.version: v for v in JobVersion.objects.filter(job_id=job.id, version__in=numbers)}


def schedule_get(job: Job) -> JobSchedule | None:
    return JobSchedule.objects.filter(job_id=job.id).first()


def run_list(*, job: Job | None = None) -> QuerySet[Run]:
    """Runs of the bound tenant and workspace (of one job); the API narrows them with ``api/filters.py``."""
    return Run.objects.all() if job is None else Run.objects.filter(job_id=job.id)


def run_get(run_id: str) -> Run | None:
    return Run.objects.filter(id=run_id).first()


def telemetry_get(run: Run) -> RunTelemetry | None:
    return RunTelemetry.objects.filter(run_id=run.id).first()


def telemetry_of(run_ids: list[str]) -> dict[str, RunTelemetry]:
    """Live metrics and logs of many runs in one query (a page of runs)."""
    return {t.run_id: t for t in RunTelemetry.objects.filter(run_id__in=run_ids)}


def run_events(run: Run) -> list[RecordedEvent]:
    """The run's own stream, in order (its timeline): ``run`` was read through the scoped manager, so the stream is
    one the reader may see."""
    return read_stream(f"run-{run.id}")  # run_actions.run_stream's id (run_actions imports this module)


def running_streaming_runs(rows: QuerySet[Run]) -> list[Run]:
    """The RUNNING streaming runs of ``rows`` (a run list the reader may see), newest first."""
    return _streaming(rows.filter(state=RunState.RUNNING).order_by("-created_at"))


def _streaming(rows: QuerySet[Run]) -> list[Run]:
    return [r for r in rows if str(r.manifest.get("mode", "")).upper() == "STREAMING"]


def with_latest_run_state(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """``jobs`` with ``latest_run_state``: the state of each one's newest run (None before its first), to filter
    a list by it ("the jobs whose last run failed")."""
    newest = Run.objects.filter(job_id=OuterRef("id")).order_by("-created_at").values("state")[:1]
    return jobs.annotate(latest_run_state=Subquery(newest))


def latest_runs_of(job_ids: list[str]) -> dict[str, Run]:
    """Each job's newest run, for a page of jobs (bound tenant), in one query whatever the runs' number."""
    newest = Run.objects.filter(job_id=OuterRef("job_id")).order_by("-created_at").values("id")[:1]
    return {run.job_id: run for run in Run.objects.filter(job_id__in=job_ids, id=Subquery(newest))}


# -- crossing tenants for the control plane's own work (tasks, runner, scheduler, writers' checks) -------------
def job_for_system(job_id: str) -> Job | None:
    """A job of any tenant, deleted or not (a task or writer binds the tenant from it)."""
    return Job.unscoped.filter(id=job_id).first()


def live_job_for_system(job_id: str) -> Job | None:
    return Job.unscoped.filter(id=job_id, deleted=False).first()


def live_job_named_for_system(workspace_id: str, name: str) -> Job | None:
    return Job.unscoped.filter(workspace_id=workspace_id, name=name, deleted=False).first()


def job_count_for_system(tenant_id: str) -> int:
    """The tenant's live jobs, for its quota."""
    return Job.unscoped.filter(tenant_id=tenant_id, deleted=False).count()


def version_for_system(job_id: str, number: int) -> JobVersion | None:
    return JobVersion.unscoped.filter(job_id=job_id, version=number).first()


def run_for_system(run_id: str) -> Run | None:
    """A run of any tenant by id: a task loads it to bind the run's tenant."""
    return Run.unscoped.filter(id=run_id).first()


def runs_for_system(run_ids: list[str]) -> dict[str, Run]:
    return {r.id: r for r in Run.unscoped.filter(id__in=run_ids)}


def job_has_runs_for_system(job_id: str) -> bool:
    return Run.unscoped.filter(job_id=job_id).exists()


def run_counts_in_windows(runs: QuerySet[Run], edges: list[datetime]) -> list[dict[str, int]]:
    """Runs requested in each window ``edges[i] <= created_at < edges[i + 1]``, by state: one query, counted by the
    database with portable comparisons (no time-zone functions in SQL: MySQL/MariaDB without time-zone tables
    cannot truncate to a local hour, and a zone with a half-hour offset does not align with UTC hours)."""
    windows = list(pairwise(edges))
    counts = {
        f"w{n}": Count("id", filter=Q(created_at__gte=start, created_at__lt=end))
        for n, (start, end) in enumerate(windows)
    }
    rows = runs.filter(created_at__gte=edges[0], created_at__lt=edges[-1]).values("state").annotate(**counts).order_by()
    found: list[dict[str, int]] = [{} for _ in windows]
    for row in rows:
        for n in range(len(windows)):
            if row[f"w{n}"]:
                found[n][row["state"]] = row[f"w{n}"]
    return found


def latest_run_for_system(job_id: str) -> Run | None:
    return Run.unscoped.filter(job_id=job_id).order_by("-created_at").first()


def active_run_for_system(job_id: str) -> Run | None:
    """The newest run of the job that has not ended, if any."""
    return Run.unscoped.filter(job_id=job_id, state__in=ACTIVE).order_by("-created_at").first()


def active_run_count_for_system(tenant_id: str) -> int:
    """The tenant's runs that have not ended, for its concurrent_runs quota."""
    return Run.unscoped.filter(tenant_id=tenant_id, state__in=ACTIVE).count()


def running_streaming_runs_for_system(tenant_id: str, cluster_id: str) -> list[Run]:
    """The RUNNING streaming runs on a cluster, by id (an operation pauses them around a restart)."""
    return _streaming(
        Run.unscoped.filter(tenant_id=tenant_id, cluster_id=cluster_id, state=RunState.RUNNING).order_by("id")
    )


def failed_runs_for_system(tenant_id: str, cluster_id: str, since: datetime, limit: int) -> list[Run]:
    """The runs on a cluster that FAILED since ``since``, newest first (a diagnosis reads their errors and logs)."""
    rows = Run.unscoped.filter(
        tenant_id=tenant_id, cluster_id=cluster_id, state=RunState.FAILED, updated_at__gte=since
    ).order_by("-updated_at", "-id")
    return list(rows[:limit])


def watched_clusters_for_system() -> list[str]:
    """The clusters that have runs the sync loop watches, by id."""
    return sorted(set(Run.unscoped.filter(state__in=WATCHED).values_list("cluster_id", flat=True)))


def watched_runs_for_system(cluster_id: str) -> list[Run]:
    """The cluster's watched runs (a cluster and its runs belong to one tenant and workspace)."""
    return list(Run.unscoped.filter(cluster_id=cluster_id, state__in=WATCHED))


def due_schedules_for_system(now: datetime) -> list[JobSchedule]:
    """Enabled schedules of every tenant whose next fire time has come, the earliest first."""
    return list(JobSchedule.unscoped.filter(enabled=True, next_fire_at__lte=now).order_by("next_fire_at"))


def cluster_for_system(cluster_id: str) -> Cluster | None:
    """The cluster a run is on, unless it was removed."""
    return Cluster.unscoped.filter(id=cluster_id, removed=False).first()


def cluster_health_for_system(cluster_ids: list[str]) -> dict[str, Health]:
    """The last health poll of each cluster (choosing where a run goes)."""
    return {h.cluster_id: h for h in Health.unscoped.filter(cluster_id__in=cluster_ids)}


# -- the console: platform staff see every tenant ------------------------------------------------------------
def job_list_for_platform() -> QuerySet[Job]:
    return Job.unscoped.all()


def version_list_for_platform() -> QuerySet[JobVersion]:
    return JobVersion.unscoped.all()


def schedule_list_for_platform() -> QuerySet[JobSchedule]:
    return JobSchedule.unscoped.all()


def run_list_for_platform() -> QuerySet[Run]:
    return Run.unscoped.all()


def telemetry_list_for_platform() -> QuerySet[RunTelemetry]:
    """Every run's latest engine metrics, all tenants: the scrape-time metrics (controlplane/metrics)."""
    return RunTelemetry.unscoped.all()


def telemetry_for_platform(run_id: str) -> RunTelemetry | None:
    return RunTelemetry.unscoped.filter(run_id=run_id).first()
