"""The console's pages under ``/admin/console/`` (names ``admin:console-*``), each behind the site's login."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from controlplane.console.pages import audit, dashboard, job_forms, job_versions, jobs, runs
from controlplane.console.pages.frame import TENANT_KEY, WORKSPACE_KEY
from controlplane.iam import access


@require_POST
def switch_scope(request: HttpRequest) -> HttpResponse:
    """Choose the tenant and workspace the pages show: only ones the user may see are kept; "" = all workspaces."""
    tenant = access.visible_tenants(request.user).filter(id=request.POST.get("tenant", "")).first()
    if tenant is not None:
        request.session[TENANT_KEY] = tenant.id
        workspace = access.visible_workspaces(request.user, tenant).filter(id=request.POST.get("workspace", "")).first()
        request.session[WORKSPACE_KEY] = workspace.id if workspace is not None else ""
    return HttpResponseRedirect(reverse("admin:console-dashboard"))


def patterns(site: AdminSite) -> list[URLPattern]:
    page = site.admin_view
    return [
        path("console/", page(dashboard.dashboard), name="console-dashboard"),
        path("console/scope/", page(switch_scope), name="console-scope"),
        path("console/jobs/", page(jobs.job_list), name="console-jobs"),
        # jobs: create, new version, schedule, compare and roll back versions
        path("console/jobs/new/", page(job_forms.job_create), name="console-job-create"),
        path("console/jobs/<str:job_id>/revise/", page(job_forms.job_revise), name="console-job-revise"),
        path("console/jobs/<str:job_id>/schedule/", page(job_forms.job_schedule), name="console-job-schedule"),
        path(
            "console/jobs/<str:object_id>/schedule/remove/",
            page(job_forms.remove_schedule),
            name="console-job-schedule-remove",
        ),
        path("console/jobs/<str:job_id>/diff/", page(job_versions.job_diff), name="console-job-diff"),
        path(
            "console/jobs/<str:job_id>/rollback/<int:number>/",
            page(job_versions.job_rollback),
            name="console-job-rollback",
        ),
        path("console/jobs/<str:object_id>/roll-back/", page(job_versions.roll_back_job), name="console-job-roll-back"),
        path("console/jobs/<str:job_id>/", page(jobs.job_detail), name="console-job"),
        path("console/jobs/<str:object_id>/run/", page(jobs.run_job), name="console-job-run"),
        path("console/runs/", page(runs.run_list), name="console-runs"),
        path("console/runs/<str:run_id>/", page(runs.run_detail), name="console-run"),
        path("console/runs/<str:run_id>/state/", page(runs.run_state), name="console-run-state"),
        path("console/runs/<str:object_id>/stop/", page(runs.stop_run), name="console-run-stop"),
        path("console/runs/<str:object_id>/pause/", page(runs.pause_run), name="console-run-pause"),
        path("console/runs/<str:object_id>/resume/", page(runs.resume_run), name="console-run-resume"),
        path("console/runs/<str:object_id>/retry/", page(runs.retry_run), name="console-run-retry"),
        path("console/audit/", page(audit.audit), name="console-audit"),
        # runs: reproduce
        path("console/runs/<str:object_id>/reproduce/", page(runs.reproduce_run), name="console-run-reproduce"),
    ]
