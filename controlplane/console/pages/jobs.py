"""Jobs: the list (search by name, filter by mode, cluster and the latest run's state, paged; each job's latest run)
and a job's page (schedule, versions, runs) with its Run form (a note and the version's job variables), which posts
to ``run_job`` and so to ``jobs.run_actions.do_start_run``, the writer the API's run endpoint calls. Creating,
revising and scheduling are in ``job_forms``, comparing and rolling back versions in ``job_versions``."""

from __future__ import annotations

from typing import TypeVar

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from controlplane.clusters.selectors import cluster_list
from controlplane.console.labels import STATES
from controlplane.console.pages.frame import Scope, action, page, readable_one, render
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import run_actions, selectors
from controlplane.jobs.domain.runs import RunState

PAGE_ROWS = 100
VERSION_ROWS = 50  # the newest versions on a job's page (to compare or roll back to)
MODES = ("BATCH", "STREAMING")
# the states a list offers to filter runs by, in the order an operator looks for them (a link may name any state)
RUN_STATES = ("FAILED", "RUNNING", "PAUSED", "SUCCEEDED", "STOPPED", "PENDING", "UNKNOWN")
T = TypeVar("T")


def version_number(text: str | None, default: T) -> int | T:
    """A version number from a form or the query string; ``default`` for anything but up to nine digits (the writer
    refuses a version that does not exist)."""
    return int(text) if text and text.isdigit() and len(text) < 10 else default


def job_in_scope(scope: Scope, job_id: str):  # type: ignore[no-untyped-def]
    """The job if the user may read it here; else 404 (another tenant's, another workspace's, or none)."""
    return readable_one(scope, "job.read", "job", selectors.job_list(), job_id)


@page("job.read", "job")
def job_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = scope.readable("job.read", "job", selectors.job_list()).order_by("name")  # type: ignore[union-attr]
    query, mode = request.GET.get("q", "").strip(), request.GET.get("mode", "")
    cluster, latest_state = request.GET.get("cluster", ""), request.GET.get("latest", "")
    if query:
        rows = rows.filter(name__icontains=query)
    if mode in MODES:
        rows = rows.filter(mode=mode)
    if cluster:
        rows = rows.filter(cluster_id=cluster)
    if latest_state == "none":
        rows = selectors.with_latest_run_state(rows).filter(latest_run_state__isnull=True)
    elif latest_state in {s.value for s in RunState}:
        rows = selectors.with_latest_run_state(rows).filter(latest_run_state=latest_state)
    shown = Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))
    clusters = {c.id: c for c in cluster_list()}
    latest = selectors.latest_runs_of([job.id for job in shown])
    return render(
        request,
        scope,
        "console/job_list.html",
        _("Jobs"),
        rows=shown,
        jobs=[(job, clusters.get(job.cluster_id), latest.get(job.id)) for job in shown],
        query=query,
        mode=mode,
        modes=[(code, STATES[code]) for code in MODES],
        cluster=cluster,
        clusters=sorted(((c.id, c.name) for c in clusters.values()), key=lambda option: option[1]),
        latest=latest_state,
        latest_states=[*((code, STATES[code]) for code in RUN_STATES), ("none", _("Never run"))],
        can_create=scope.has("job.create"),
    )


@page("job.read", "job")
def job_detail(request: HttpRequest, scope: Scope, job_id: str) -> HttpResponse:
    job = job_in_scope(scope, job_id)
    versions = list(selectors.version_list(job)[:VERSION_ROWS])
    current = next((v for v in versions if v.version == job.current_version), None)
    return render(
        request,
        scope,
        "console/job_detail.html",
        job.name,
        title_is_name=True,
        job=job,
        versions=versions,
        variables=current.variables if current else [],
        runs=list(selectors.run_list(job=job)[:20]),
        schedule=selectors.schedule_get(job),
        can_run=scope.has("job.run", job),
        can_update=scope.has("job.update", job),
        cluster=cluster_list().filter(id=job.cluster_id).first(),
    )


@action("run", "job")
def run_job(request: HttpRequest, scope: Scope, metadata: Metadata, job_id: str) -> tuple[str, str]:
    job = job_in_scope(scope, job_id)
    # the values given for the version's job variables; an empty field keeps the variable's default
    values = {key[4:]: value for key, value in request.POST.items() if key.startswith("var:") and value != ""}
    run_id = run_actions.do_start_run(
        metadata=metadata,
        job=job,
        version=version_number(request.POST.get("version"), None),  # none: the current one
        note=request.POST.get("note", "")[:500],
        allow_overlap=request.POST.get("allow_overlap") == "on",
        variables=values or None,
    )
    return _("Run %(run)s requested.") % {"run": run_id[:8]}, reverse("admin:console-run", args=[run_id])
