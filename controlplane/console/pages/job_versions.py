"""A job's versions: two of them compared side by side (the texts line by line, and the changed paths of their
normal forms, from the jobs app's own structural diff) and a roll back to one of them, confirmed on a page that
shows what it changes, posting to ``do_roll_back_job`` (a new version equal to the old one)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from controlplane.console.config_diff import path_changes, side_by_side
from controlplane.console.pages.frame import Scope, action, page, render
from controlplane.console.pages.jobs import job_in_scope, version_number
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import actions, selectors
from controlplane.jobs.models import Job, JobVersion
from controlplane.seatunnel.config.diff import structural_diff


def _pair(job: Job, old: int, new: int) -> tuple[JobVersion, JobVersion]:
    rows = selectors.versions_by_number(job, [old, new])
    if old not in rows or new not in rows:
        raise Http404
    return rows[old], rows[new]


def _diff_values(old: JobVersion, new: JobVersion) -> dict:
    return {
        "old": old,
        "new": new,
        "rows": side_by_side(old.text, new.text),
        "paths": path_changes(structural_diff(old.normalised, new.normalised)),
    }


@page("job.read", "job")
def job_diff(request: HttpRequest, scope: Scope, job_id: str) -> HttpResponse:
    """``?from=<n>&to=<m>``: by default the version before the current one against the current one."""
    job = job_in_scope(scope, job_id)
    new_number = version_number(request.GET.get("to"), job.current_version)
    old, new = _pair(job, version_number(request.GET.get("from"), max(new_number - 1, 1)), new_number)
    return render(
        request,
        scope,
        "console/job_diff.html",
        _("Compare versions"),
        title_note=job.name,
        job=job,
        numbers=list(selectors.version_list(job).values_list("version", flat=True)),
        can_update=scope.has("job.update", job),
        **_diff_values(old, new),
    )


@page("job.read", "job")
def job_rollback(request: HttpRequest, scope: Scope, job_id: str, number: int) -> HttpResponse:
    """The confirmation: what the roll back changes (the current version against the chosen one)."""
    job = job_in_scope(scope, job_id)
    current, target = _pair(job, job.current_version, number)
    return render(
        request,
        scope,
        "console/job_rollback.html",
        _("Roll back"),
        title_note=job.name,
        job=job,
        can_update=scope.has("job.update", job),
        **_diff_values(current, target),
    )


@action("roll_back", "job")
def roll_back_job(request: HttpRequest, scope: Scope, metadata: Metadata, job_id: str) -> tuple[str, str]:
    job = job_in_scope(scope, job_id)
    number = actions.do_roll_back_job(
        metadata=metadata,
        job=job,
        to_version=version_number(request.POST.get("to_version"), 0),
        message=request.POST.get("message", "")[:500],
        # the job as the confirmation showed it
        expected_version=version_number(request.POST.get("expected"), 0) or None,
    )
    return _("Version %(version)s created from version %(from)s.") % {
        "version": number,
        "from": request.POST.get("to_version"),
    }, reverse("admin:console-job", args=[job.id])
