"""The dashboard: clusters with their health, runs by state, recent failures with their matched fault, firing
alerts, operations in progress and lost agents, and small charts (runs over time by outcome, records/s of the
running streaming jobs), each part shown when the user may read it. The parts are one live fragment (``…/live/``):
fetched again on each event of the tenant's activity feed, and every 30 s for the throughput (metrics are not
events)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from controlplane.agents.selectors import lost_agent_list
from controlplane.alerts.selectors import alert_list
from controlplane.clusters.selectors import cluster_list, health_of
from controlplane.console import charts
from controlplane.console.labels import STATES
from controlplane.console.pages.frame import Scope, page, render
from controlplane.diagnostics.selectors import language_of, run_fault
from controlplane.jobs import selectors as jobs
from controlplane.jobs import throughput
from controlplane.jobs.models import Run
from controlplane.operations.domain.states import TERMINAL as OPERATION_DONE
from controlplane.operations.selectors import operation_list

RECENT = 10
OUTCOMES = {"SUCCEEDED": "good", "FAILED": "bad", "STOPPED": "plain", "CANCELLED": "plain"}  # else: not finished


def _series() -> list[charts.Series]:
    return [
        charts.Series("good", str(STATES["SUCCEEDED"])),
        charts.Series("bad", str(STATES["FAILED"])),
        charts.Series("plain", str(STATES["STOPPED"])),
        charts.Series("busy", _("Not finished")),
    ]


def hourly(now: datetime, hours: int = 24) -> list[charts.Bucket]:
    """The last ``hours`` hours in the user's time zone, the current one last."""
    top = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    starts = [timezone.localtime(top - timedelta(hours=k)) for k in range(hours - 1, -1, -1)]
    return [charts.Bucket(start, start.strftime("%H:00")) for start in starts]


def daily(now: datetime, days: int = 14) -> list[charts.Bucket]:
    """The last ``days`` days (local midnights, so a day with a clock change is still one day), today last."""
    today, zone = timezone.localdate(now), timezone.get_current_timezone()
    starts = [datetime.combine(today - timedelta(days=k), time(), tzinfo=zone) for k in range(days - 1, -1, -1)]
    return [charts.Bucket(start, start.strftime("%m-%d")) for start in starts]


def runs_over_time(runs: QuerySet[Run], buckets: list[charts.Bucket], end: datetime, title: str) -> SafeString:
    """Runs requested in each bucket (local hours or days, ``end``: the last one's end), counted by the database."""
    counts = jobs.run_counts_in_windows(runs, [b.start for b in buckets] + [end])
    rows = (
        (b.start, OUTCOMES.get(state, "busy"), n)
        for b, found in zip(buckets, counts, strict=True)
        for state, n in found.items()
    )
    filled = charts.fill(buckets, rows)
    return charts.stacked_bars(filled, _series(), title=title, empty=_("No runs in this time."))


def streaming_sparklines(runs: QuerySet[Run]) -> list[tuple[Run, str, float | None, SafeString]]:
    """Each running streaming run: its job's name, its latest records/s and a sparkline of them."""
    running = jobs.running_streaming_runs(runs)[:RECENT]
    telemetry = jobs.telemetry_of([r.id for r in running])
    names = dict(jobs.job_list().filter(id__in={r.job_id for r in running}).values_list("id", "name"))
    found = []
    for run in running:
        metrics = telemetry[run.id].metrics if run.id in telemetry else None
        series = throughput.records_in_series(metrics)
        latest = series[-1] if series else None
        title = _("Records read per second, the last %(n)s samples") % {"n": len(series)}
        found.append((run, names.get(run.job_id, run.job_id), latest, charts.sparkline(series, title=title)))
    return found


REFRESH_SECONDS = 30


@page("workspace.read")
def dashboard(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(request, scope, "console/dashboard.html", _("Dashboard"), refresh=REFRESH_SECONDS, **_values(scope))


@page("workspace.read")
def dashboard_live(request: HttpRequest, scope: Scope) -> HttpResponse:
    return TemplateResponse(request, "console/dashboard_live.html", _values(scope))


def _values(scope: Scope) -> dict:
    clusters = scope.readable("cluster.read", "cluster", cluster_list())
    runs = scope.readable("job.read", "job", jobs.run_list())
    operations = scope.readable("operation.read", "cluster", operation_list())
    language = language_of(get_language())
    failed = list(runs.filter(state="FAILED")[:RECENT]) if runs is not None else []
    now = timezone.now()
    later = now + timedelta(days=1)  # the last bucket reaches past now: a run requested this second is counted
    values = {
        "clusters": None,
        "charts": None
        if runs is None
        else {
            "hours": runs_over_time(runs, hourly(now), later, _("Runs per hour, the last 24 hours, by outcome")),
            "days": runs_over_time(runs, daily(now), later, _("Runs per day, the last 14 days, by outcome")),
            "legend": charts.legend(_series()),
            "streaming": streaming_sparklines(runs),
        },
        "alerts": list(alert_list().filter(status="firing")[:RECENT]) if scope.has("alert.read") else None,
        "runs_by_state": None if runs is None else list(runs.values("state").annotate(n=Count("id")).order_by("state")),
        # By the error text only: a list never reads engine logs (ADR 0029); the run's page does.
        "failures": [(run, run_fault(run, language=language)) for run in failed],
        "operations": None if operations is None else list(operations.exclude(state__in=OPERATION_DONE)[:RECENT]),
        "lost_agents": list(lost_agent_list()[:RECENT]) if scope.has("cluster.read") else None,
    }
    if clusters is not None:
        rows = list(clusters)
        health = health_of([c.id for c in rows])
        values["clusters"] = [(c, health.get(c.id)) for c in rows]
    return values
