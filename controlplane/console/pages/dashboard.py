"""The dashboard: clusters with their health, runs by state, recent failures with their matched fault, operations
in progress and lost agents, each part shown when the user may read it."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from controlplane.agents.selectors import lost_agent_list
from controlplane.clusters.selectors import cluster_list, health_of
from controlplane.console.pages.frame import Scope, page, render
from controlplane.diagnostics.selectors import language_of, run_fault
from controlplane.jobs import selectors as jobs
from controlplane.operations.domain.states import TERMINAL as OPERATION_DONE
from controlplane.operations.selectors import operation_list

RECENT = 10


@page("workspace.read")
def dashboard(request: HttpRequest, scope: Scope) -> HttpResponse:
    clusters = scope.readable("cluster.read", "cluster", cluster_list())
    runs = scope.readable("job.read", "job", jobs.run_list())
    operations = scope.readable("operation.read", "cluster", operation_list())
    language = language_of(get_language())
    failed = list(runs.filter(state="FAILED")[:RECENT]) if runs is not None else []
    values = {
        "clusters": None,
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
    return render(request, scope, "console/dashboard.html", _("Dashboard"), **values)
