"""Job forms that keep what was typed when a writer refuses it: create a job (by pasting HOCON, JSON or YAML, or
from one of the jobs app's templates), a new version (``do_revise_job``) and the schedule (``do_set_schedule``,
``do_remove_schedule``). Each is a page (GET) and an ``@action`` with a ``form`` callback (POST) at the same URL
(``frame.form_page``). A config the jobs app refuses comes back with its problems at their lines in a numbered
listing of the text (``console.config_problems``); every other refusal next to its field."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from controlplane.clusters.selectors import cluster_list
from controlplane.console.config_problems import listing
from controlplane.console.pages.frame import Scope, action, form_page, page, refused, render
from controlplane.console.pages.jobs import job_in_scope, version_number
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import actions, selectors
from controlplane.jobs.domain.schedule import next_fire_times
from controlplane.jobs.models import Job
from controlplane.seatunnel.config.templates import TEMPLATES, render_template

FORMATS = ("auto", "hocon", "json", "yaml")
UPCOMING = 5  # fire times shown with a schedule


def declared_variables(text: str) -> list[dict[str, Any]]:
    """The form's variables, one a line: ``name`` or ``name=default`` (the jobs app checks names and values)."""
    declared = []
    for line in text.splitlines():
        name, has_default, default = line.strip().partition("=")
        if name.strip():
            declared.append({"name": name.strip(), **({"default": default.strip()} if has_default else {})})
    return declared


def variables_text(declared: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['name']}={v['default']}" if "default" in v else v["name"] for v in declared)


def config_errors(error: DomainError | None, text: str) -> dict[str, Any]:
    """The template values of a refused config: problems at their lines; any other error, by its field."""
    if error is None:
        return {"lines": None, "unplaced": [], "error": None, "field": ""}
    problems = error.details.get("problems")
    if not isinstance(problems, list):
        return {"lines": None, "unplaced": [], "error": error, "field": str(error.details.get("field", ""))}
    lines, unplaced = listing(text, problems)
    return {"lines": lines, "unplaced": unplaced, "error": None, "field": ""}


def _format(chosen: str) -> str:
    return chosen if chosen in FORMATS else "auto"


# -- create ------------------------------------------------------------------------------------------------------
def _create_values(form: Any) -> tuple[dict[str, str], str, dict[str, str]]:
    """What the create form holds (the query string's on a GET, the POST's after a refusal): its fields, the
    template chosen and the template's parameters."""
    values = {
        "name": form.get("name", "").strip(),
        "cluster": form.get("cluster", ""),
        "format": form.get("format", "auto"),
        "config": form.get("config", ""),
        "message": form.get("message", ""),
        "variables": form.get("variables", ""),
    }
    template_values = {key[6:]: value for key, value in form.items() if key.startswith("param:")}
    return values, form.get("template", ""), template_values


def _config(values: dict[str, str], template_name: str, template_values: dict[str, str], cluster: Any) -> str:
    """The config to create: the text pasted, or the template rendered for the chosen cluster's engine version (an
    unknown template or a bad parameter: its DomainError)."""
    if not template_name:
        return values["config"]
    return render_template(
        template_name,
        {k: v for k, v in template_values.items() if v != ""},
        **({"engine_version": cluster.engine_version} if cluster else {}),  # none: the jobs app's default
    )


def _create_page(
    request: HttpRequest,
    scope: Scope,
    form: Any,
    error: DomainError | None = None,
) -> HttpResponse:
    values, template_name, template_values = _create_values(form)
    clusters = list(cluster_list())
    cluster = next((c for c in clusters if c.id == values["cluster"]), None)
    template_error = None
    if error is not None and template_name:
        try:
            values["config"] = _config(values, template_name, template_values, cluster)  # the text made, refused
        except DomainError as exc:  # the template itself was refused: nothing was sent to the jobs app
            template_error, error = exc, None
    return render(
        request,
        scope,
        "console/job_create.html",
        _("New job"),
        values=values,
        clusters=clusters,
        formats=FORMATS,
        templates=sorted(TEMPLATES.values(), key=lambda t: t.name),
        chosen=TEMPLATES.get(template_name),
        template_fields=_template_fields(template_name, template_values),
        template_error=template_error,
        status=400 if error or template_error else 200,
        **config_errors(error, values["config"]),
    )


def _template_fields(template_name: str, values: dict[str, str]) -> list[dict[str, Any]]:
    template = TEMPLATES.get(template_name)
    if template is None:
        return []
    return [
        {**param, "value": values.get(param["name"], "" if param["default"] is None else str(param["default"]))}
        for param in template.schema()
    ]


@page("job.read", "job")
def create_form(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The form: pasted text, or ``?template=<name>``'s parameters."""
    if not scope.has("job.create"):
        return refused(request, scope, _("Your role cannot create jobs here (job.create)."))
    return _create_page(request, scope, request.GET)


def _create_refused(request: HttpRequest, scope: Scope, error: DomainError, object_id: str) -> HttpResponse:
    return _create_page(request, scope, request.POST, error)


@action("create", "job", form=_create_refused)
def create_job(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str = "") -> tuple[str, str, str]:
    values, template_name, template_values = _create_values(request.POST)
    cluster = cluster_list().filter(id=values["cluster"]).first()
    job_id = actions.do_create_job(
        metadata=metadata,
        tenant_id=scope.tenant.id,
        # the cluster names the workspace (a tenant-wide member creates in the cluster's workspace)
        workspace_id=cluster.workspace_id if cluster else (scope.workspace_id or ""),
        name=values["name"],
        cluster_id=values["cluster"],
        config=_config(values, template_name, template_values, cluster),
        format=_format(values["format"]),
        message=values["message"],
        variables=declared_variables(values["variables"]),
    )
    return _("Job created."), reverse("admin:console-job", args=[job_id]), job_id


# -- a new version -------------------------------------------------------------------------------------------------
def _revise_page(request: HttpRequest, scope: Scope, job: Job, error: DomainError | None = None) -> HttpResponse:
    current = selectors.version_get(job, job.current_version)
    form = request.POST if request.method == "POST" else {}
    values = {
        "format": form.get("format", "auto"),
        "config": form.get("config", current.text if current else ""),
        "message": form.get("message", ""),
        "variables": form.get("variables", variables_text(current.variables if current else [])),
        "expected": form.get("expected", str(job.version)),
    }
    return render(
        request,
        scope,
        "console/job_revise.html",
        _("New version"),
        title_note=job.name,
        job=job,
        values=values,
        formats=FORMATS,
        status=400 if error else 200,
        **config_errors(error, values["config"]),
    )


@page("job.read", "job")
def revise_form(request: HttpRequest, scope: Scope, job_id: str) -> HttpResponse:
    """A new version of a job's config, the current text to start from."""
    job = job_in_scope(scope, job_id)
    if not scope.has("job.update", job):
        return refused(request, scope, _("Your role cannot change this job's config (job.update)."))
    return _revise_page(request, scope, job)


def _revise_refused(request: HttpRequest, scope: Scope, error: DomainError, job_id: str) -> HttpResponse:
    return _revise_page(request, scope, job_in_scope(scope, job_id), error)


@action("revise", "job", form=_revise_refused)
def revise_job(request: HttpRequest, scope: Scope, metadata: Metadata, job_id: str) -> tuple[str, str]:
    job = job_in_scope(scope, job_id)
    post = request.POST
    version = actions.do_revise_job(
        metadata=metadata,
        job=job,
        config=post.get("config", ""),
        format=_format(post.get("format", "auto")),
        message=post.get("message", ""),
        variables=declared_variables(post.get("variables", "")),
        # the job as the form showed it: a change in between is a conflict, not silently overwritten
        expected_version=version_number(post.get("expected"), None),
    )
    return _("Version %(version)s stored.") % {"version": version}, reverse("admin:console-job", args=[job.id])


# -- the schedule --------------------------------------------------------------------------------------------------
def upcoming(schedule: Any, count: int = UPCOMING) -> list:
    """The schedule's next fire times (as the scheduler computes them: cron in the schedule's zone)."""
    if schedule is None or not schedule.enabled:
        return []
    return next_fire_times(schedule.cron, schedule.timezone, timezone.now(), count)


def _schedule_values(form: Any, schedule: Any) -> dict[str, Any]:
    """The form's fields: what was posted, else the schedule's (a new one: UTC, enabled, no overlap)."""
    return {
        "cron": form.get("cron", schedule.cron if schedule else ""),
        "timezone": form.get("timezone", schedule.timezone if schedule else "UTC"),
        "enabled": form.get("enabled") == "on" if form else (schedule.enabled if schedule else True),
        "allow_overlap": form.get("allow_overlap") == "on" if form else bool(schedule and schedule.allow_overlap),
    }


def _schedule_page(request: HttpRequest, scope: Scope, job: Job, error: DomainError | None = None) -> HttpResponse:
    schedule = selectors.schedule_get(job)
    return render(
        request,
        scope,
        "console/job_schedule.html",
        _("Schedule"),
        title_note=job.name,
        job=job,
        schedule=schedule,
        upcoming=upcoming(schedule),
        values=_schedule_values(request.POST if request.method == "POST" else {}, schedule),
        can_update=scope.has("job.update", job),
        error=error,
        field=str(error.details.get("field", "")) if error else "",
        status=400 if error else 200,
    )


@page("job.read", "job")
def schedule_form(request: HttpRequest, scope: Scope, job_id: str) -> HttpResponse:
    """The schedule with its next fire times, and the form to set it."""
    return _schedule_page(request, scope, job_in_scope(scope, job_id))


def _schedule_refused(request: HttpRequest, scope: Scope, error: DomainError, job_id: str) -> HttpResponse:
    return _schedule_page(request, scope, job_in_scope(scope, job_id), error)


@action("set_schedule", "job", form=_schedule_refused)
def set_schedule(request: HttpRequest, scope: Scope, metadata: Metadata, job_id: str) -> tuple[str, str]:
    job = job_in_scope(scope, job_id)
    values = _schedule_values(request.POST, selectors.schedule_get(job))
    actions.do_set_schedule(
        metadata=metadata,
        job=job,
        cron=values["cron"],
        timezone=values["timezone"].strip() or "UTC",
        enabled=values["enabled"],
        allow_overlap=values["allow_overlap"],
    )
    return _("Schedule saved."), reverse("admin:console-job-schedule", args=[job.id])


@action("remove_schedule", "job")
def remove_schedule(request: HttpRequest, scope: Scope, metadata: Metadata, job_id: str) -> tuple[str, str]:
    job = job_in_scope(scope, job_id)
    actions.do_remove_schedule(metadata=metadata, job=job)
    return _("Schedule removed."), reverse("admin:console-job-schedule", args=[job.id])


job_create = form_page(create_form, create_job)
job_revise = form_page(revise_form, revise_job)
job_schedule = form_page(schedule_form, set_schedule)
