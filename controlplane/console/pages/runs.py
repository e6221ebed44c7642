"""Runs: the list (filter by state) and a run's page, whose state part (``run_state``, a fragment) ``console.js``
reloads whenever the run's websocket (``/ws/v1/runs/<id>/``, docs/LIVE.md) brings an event: live without reload,
rendered by the server in the user's language; the fragment holds the state, the timeline of the run's events,
the throughput (rates between the telemetry's samples) and the tail of the engine's log, and is fetched again every
few seconds while the run is active (metrics are observations, not events). Stop, Pause (stop with a savepoint),
Resume, Retry and Reproduce post to ``do_stop_run``, ``do_resume_run``, ``do_retry_run`` and ``do_reproduce_run``,
the API's writers."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from controlplane.clusters.selectors import cluster_list
from controlplane.console.labels import STATES
from controlplane.console.pages.frame import Scope, action, page, readable_one, render
from controlplane.console.pages.jobs import RUN_STATES
from controlplane.console.timeline import run_timeline
from controlplane.diagnostics.selectors import language_of, run_fault
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import run_actions, selectors, throughput
from controlplane.jobs.selectors import ACTIVE

PAGE_ROWS = 100
LOG_LINES, LOG_LINE_CHARS = 80, 500  # the tail shown: a bounded page whatever the engine wrote
REFRESH_SECONDS = 5  # the live part's refresh while the run is active (about the sync loop's pace)


def log_tail(text: str, lines: int = LOG_LINES, width: int = LOG_LINE_CHARS) -> list[str]:
    """The last ``lines`` lines of ``text``, each cut at ``width`` characters (escaped by the template)."""
    tail = text.rstrip("\n").splitlines()[-lines:] if text else []
    return [line if len(line) <= width else line[: width - 1] + "…" for line in tail]


def _run(scope: Scope, run_id: str):  # type: ignore[no-untyped-def]
    return readable_one(scope, "job.read", "job", selectors.run_list(), run_id)


def _state_values(scope: Scope, run) -> dict:  # type: ignore[no-untyped-def]
    telemetry = selectors.telemetry_get(run)
    fault = run_fault(
        run, language=language_of(get_language()), log_text=telemetry.log_text if telemetry is not None else ""
    )
    may_stop, may_run = scope.has("job.stop", run), scope.has("job.run", run)
    metrics = telemetry.metrics if telemetry is not None else {}
    return {
        "run": run,
        "fault": fault,
        "telemetry": telemetry,
        # A finished run's own metrics (the engine's at the end) over the last live reading, which may predate it.
        "metrics": run.metrics or throughput.engine_metrics(metrics),
        "measured_at": run.finished_at if run.metrics else getattr(telemetry, "metrics_at", None),
        "rates": throughput.latest_rates(metrics) if run.state == "RUNNING" else None,
        "log_lines": log_tail(telemetry.log_text if telemetry is not None else ""),
        "timeline": run_timeline(selectors.run_events(run)),
        # Each button where its writer would accept the run's state; the writer still decides.
        "can_stop": run.state in ACTIVE and may_stop,
        "can_pause": run.state == "RUNNING" and may_stop,
        "can_resume": run.state == "PAUSED" and may_run,
        "can_retry": run.state in ("FAILED", "STOPPED") and may_run,
        "can_reproduce": may_run,  # any run's manifest can run again
        "settled": run.state not in ACTIVE,  # console.js stops the periodic refresh
    }


@page("job.read", "job")
def run_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = scope.readable("job.read", "job", selectors.run_list()).order_by("-created_at")  # type: ignore[union-attr]
    state, cluster, job = request.GET.get("state", ""), request.GET.get("cluster", ""), request.GET.get("job", "")
    if state in STATES:
        rows = rows.filter(state=state)
    if cluster:
        rows = rows.filter(cluster_id=cluster)
    if job:
        rows = rows.filter(job_id=job)
    shown = Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))
    jobs = {j.id: j for j in selectors.job_list().filter(id__in={run.job_id for run in shown})}
    clusters = sorted(cluster_list(), key=lambda c: c.name)
    by_id = {c.id: c for c in clusters}
    return render(
        request,
        scope,
        "console/run_list.html",
        _("Runs"),
        rows=shown,
        runs=[(run, jobs.get(run.job_id), by_id.get(run.cluster_id)) for run in shown],
        state=state,
        states=[(code, STATES[code]) for code in RUN_STATES],
        cluster=cluster,
        clusters=[(c.id, c.name) for c in clusters],
        job=selectors.job_list().filter(id=job).first() if job else None,
    )


@page("job.read", "job")
def run_detail(request: HttpRequest, scope: Scope, run_id: str) -> HttpResponse:
    run = _run(scope, run_id)
    return render(
        request,
        scope,
        "console/run_detail.html",
        _("Run"),
        title_note=run.id[:8],
        job=selectors.job_list().filter(id=run.job_id).first(),
        cluster=cluster_list().filter(id=run.cluster_id).first(),
        refresh=REFRESH_SECONDS if run.state in ACTIVE else None,
        manifest_tree={k: v for k, v in run.manifest.items() if k != "config_text"},  # the text is shown as text
        **_state_values(scope, run),
    )


@page("job.read", "job")
def run_state(request: HttpRequest, scope: Scope, run_id: str) -> HttpResponse:
    """The run page's live part alone (fetched by console.js)."""
    return TemplateResponse(request, "console/run_state.html", _state_values(scope, _run(scope, run_id)))


@action("stop", "run")
def stop_run(request: HttpRequest, scope: Scope, metadata: Metadata, run_id: str) -> tuple[str, str]:
    run = _run(scope, run_id)
    run_actions.do_stop_run(metadata=metadata, run=run)
    return _("Stop requested."), reverse("admin:console-run", args=[run.id])


@action("pause", "run")
def pause_run(request: HttpRequest, scope: Scope, metadata: Metadata, run_id: str) -> tuple[str, str]:
    run = _run(scope, run_id)
    run_actions.do_stop_run(metadata=metadata, run=run, savepoint=True)
    return _("Pause requested: the run stops with a savepoint."), reverse("admin:console-run", args=[run.id])


@action("resume", "run")
def resume_run(request: HttpRequest, scope: Scope, metadata: Metadata, run_id: str) -> tuple[str, str]:
    run = _run(scope, run_id)
    run_actions.do_resume_run(metadata=metadata, run=run)
    return _("Resume requested."), reverse("admin:console-run", args=[run.id])


@action("retry", "run")
def retry_run(request: HttpRequest, scope: Scope, metadata: Metadata, run_id: str) -> tuple[str, str]:
    run = _run(scope, run_id)
    new_id = run_actions.do_retry_run(metadata=metadata, run=run)
    return _("Run %(run)s requested.") % {"run": new_id[:8]}, reverse("admin:console-run", args=[new_id])


@action("reproduce", "run")
def reproduce_run(request: HttpRequest, scope: Scope, metadata: Metadata, run_id: str) -> tuple[str, str]:
    run = _run(scope, run_id)
    new_id = run_actions.do_reproduce_run(metadata=metadata, run=run)
    return _("Run %(run)s requested.") % {"run": new_id[:8]}, reverse("admin:console-run", args=[new_id])
