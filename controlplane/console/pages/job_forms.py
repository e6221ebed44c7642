"""Job forms that keep what was typed when a writer refuses it: create a job (by pasting HOCON, JSON or YAML, or
from one of the jobs app's templates), a new version (``do_revise_job``) and the schedule (``do_set_schedule``,
``do_remove_schedule``). A config the jobs app refuses comes back with its problems at their lines in a numbered
listing of the text (``console.config_problems``); every other refusal next to its field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from controlplane.audit.recorder import record_request
from controlplane.clusters.selectors import cluster_list
from controlplane.console.config_problems import listing
from controlplane.console.pages.frame import Scope, action, metadata_of, page, refused, render
from controlplane.console.pages.jobs import job_in_scope
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access
from controlplane.jobs import actions, selectors
from controlplane.jobs.domain.schedule import next_fire_times
from controlplane.seatunnel.config.templates import TEMPLATES, render_template

FORMATS = ("auto", "hocon", "json", "yaml")
UPCOMING = 5  # fire times shown with a schedule


@dataclass(frozen=True)
class Outcome:
    """What a form's one writer call did: its value, or the domain error to show on the form, or the refusal page."""

    value: Any = None
    error: DomainError | None = None
    refusal: HttpResponse | None = None


def _audit(scope: Scope, name: str, resource_type: str) -> dict[str, Any]:
    return {
        "action": f"console.{name}",
        "resource_type": resource_type,
        "tenant_id": scope.tenant.id,
        "workspace_id": scope.workspace.id if scope.workspace else "",
    }


def _job(request: HttpRequest, scope: Scope, name: str, job_id: str):  # type: ignore[no-untyped-def]
    """The job; a POST about one the user cannot see is audited (``denied``, ``NOT_FOUND``) as a button's is."""
    try:
        return job_in_scope(scope, job_id)
    except Http404:
        if request.method == "POST":
            record_request(
                request, result="denied", error_code="NOT_FOUND", resource_id=job_id, **_audit(scope, name, "job")
            )
        raise


def attempt(
    request: HttpRequest,
    scope: Scope,
    name: str,
    resource_type: str,
    resource_id: str,
    write: Callable[[Metadata], Any],
) -> Outcome:
    """Call one writer as a button's POST does (``frame.action``): the writer authorizes the user, the outcome is
    on the tenant's audit trail (``console.<name>``), but a domain error comes back to the form instead of a
    redirect, so nothing typed is lost."""
    audit = _audit(scope, name, resource_type)
    try:
        value = write(metadata_of(request, scope))
    except (access.NotVisible, Http404) as exc:
        record_request(request, result="denied", error_code="NOT_FOUND", resource_id=resource_id, **audit)
        raise Http404 from exc
    except (access.AccessDenied, access.TenantDisabled) as exc:
        record_request(request, result="denied", error_code=exc.code, resource_id=resource_id, **audit)
        return Outcome(refusal=refused(request, scope, str(exc)))
    except DomainError as exc:
        record_request(request, result="failed", error_code=exc.code, resource_id=resource_id, **audit)
        return Outcome(error=exc)
    created = value if not resource_id and isinstance(value, str) else resource_id
    record_request(request, result="ok", resource_id=created, **audit)
    return Outcome(value=value)


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


def _template_fields(template_name: str, values: dict[str, str]) -> list[dict[str, Any]]:
    template = TEMPLATES.get(template_name)
    if template is None:
        return []
    return [
        {**param, "value": values.get(param["name"], "" if param["default"] is None else str(param["default"]))}
        for param in template.schema()
    ]


@page("job.read", "job")
def job_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    """GET: the form (pasted text, or ``?template=<name>``'s parameters); POST: ``do_create_job``."""
    if request.method != "POST" and not scope.has("job.create"):
        return refused(request, scope, _("Your role cannot create jobs here (job.create)."))
    form = request.POST if request.method == "POST" else request.GET
    template_name = form.get("template", "")
    template_values = {key[6:]: value for key, value in form.items() if key.startswith("param:")}
    values = {
        "name": form.get("name", "").strip(),
        "cluster": form.get("cluster", ""),
        "format": form.get("format", "auto"),
        "config": form.get("config", ""),
        "message": form.get("message", ""),
        "variables": form.get("variables", ""),
    }
    clusters = list(cluster_list())
    outcome, template_error = Outcome(), None
    if request.method == "POST":
        cluster = next((c for c in clusters if c.id == values["cluster"]), None)
        config = values["config"]
        if template_name:
            try:
                config = render_template(
                    template_name,
                    {k: v for k, v in template_values.items() if v != ""},
                    **({"engine_version": cluster.engine_version} if cluster else {}),  # none: the jobs app's default
                )
            except DomainError as exc:  # an unknown template or a bad parameter: nothing was tried yet
                template_error = exc
        if template_error is None:
            outcome = attempt(
                request,
                scope,
                "create",
                "job",
                "",
                lambda metadata: actions.do_create_job(
                    metadata=metadata,
                    tenant_id=scope.tenant.id,
                    # the cluster names the workspace (a tenant-wide member creates in the cluster's workspace)
                    workspace_id=cluster.workspace_id if cluster else (scope.workspace.id if scope.workspace else ""),
                    name=values["name"],
                    cluster_id=values["cluster"],
                    config=config,
                    format=values["format"] if values["format"] in FORMATS else "auto",
                    message=values["message"],
                    variables=declared_variables(values["variables"]),
                ),
            )
            if outcome.refusal is not None:
                return outcome.refusal
            if outcome.error is None:
                job_url = reverse("admin:console-job", args=[outcome.value])
                return HttpResponseRedirect(job_url)
            values["config"] = config  # a rendered template that failed: show the text it made
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
        status=400 if outcome.error or template_error else 200,
        **config_errors(outcome.error, values["config"]),
    )


@page("job.read", "job")
def job_revise(request: HttpRequest, scope: Scope, job_id: str) -> HttpResponse:
    """A new version of a job's config (``do_revise_job``), the current text to start from."""
    job = _job(request, scope, "revise", job_id)
    if request.method != "POST" and not scope.has("job.update", job):
        return refused(request, scope, _("Your role cannot change this job's config (job.update)."))
    current = selectors.version_get(job, job.current_version)
    form = request.POST if request.method == "POST" else {}
    values = {
        "format": form.get("format", "auto"),
        "config": form.get("config", current.text if current else ""),
        "message": form.get("message", ""),
        "variables": form.get("variables", variables_text(current.variables if current else [])),
        "expected": form.get("expected", str(job.version)),
    }
    outcome = Outcome()
    if request.method == "POST":
        outcome = attempt(
            request,
            scope,
            "revise",
            "job",
            job.id,
            lambda metadata: actions.do_revise_job(
                metadata=metadata,
                job=job,
                config=values["config"],
                format=values["format"] if values["format"] in FORMATS else "auto",
                message=values["message"],
                variables=declared_variables(values["variables"]),
                # the job as the form showed it: a change in between is a conflict, not silently overwritten
                expected_version=int(values["expected"]) if values["expected"].isdigit() else None,
            ),
        )
        if outcome.refusal is not None:
            return outcome.refusal
        if outcome.error is None:
            return HttpResponseRedirect(reverse("admin:console-job", args=[job.id]))
    return render(
        request,
        scope,
        "console/job_revise.html",
        _("New version"),
        title_note=job.name,
        job=job,
        values=values,
        formats=FORMATS,
        status=400 if outcome.error else 200,
        **config_errors(outcome.error, values["config"]),
    )


def upcoming(schedule: Any, count: int = UPCOMING) -> list:
    """The schedule's next fire times (as the scheduler computes them: cron in the schedule's zone)."""
    if schedule is None or not schedule.enabled:
        return []
    return next_fire_times(schedule.cron, schedule.timezone, timezone.now(), count)


@page("job.read", "job")
def job_schedule(request: HttpRequest, scope: Scope, job_id: str) -> HttpResponse:
    """The schedule with its next fire times; POST sets it (``do_set_schedule``), errors shown on the form."""
    job = _job(request, scope, "set_schedule", job_id)
    schedule = selectors.schedule_get(job)
    form = request.POST if request.method == "POST" else {}
    values = {
        "cron": form.get("cron", schedule.cron if schedule else ""),
        "timezone": form.get("timezone", schedule.timezone if schedule else "UTC"),
        "enabled": form.get("enabled") == "on" if form else (schedule.enabled if schedule else True),
        "allow_overlap": form.get("allow_overlap") == "on" if form else bool(schedule and schedule.allow_overlap),
    }
    outcome = Outcome()
    if request.method == "POST":
        outcome = attempt(
            request,
            scope,
            "set_schedule",
            "job",
            job.id,
            lambda metadata: actions.do_set_schedule(
                metadata=metadata,
                job=job,
                cron=values["cron"],
                timezone=values["timezone"].strip() or "UTC",
                enabled=values["enabled"],
                allow_overlap=values["allow_overlap"],
            ),
        )
        if outcome.refusal is not None:
            return outcome.refusal
        if outcome.error is None:
            return HttpResponseRedirect(reverse("admin:console-job-schedule", args=[job.id]))
    return render(
        request,
        scope,
        "console/job_schedule.html",
        _("Schedule"),
        title_note=job.name,
        job=job,
        schedule=schedule,
        upcoming=upcoming(schedule),
        values=values,
        can_update=scope.has("job.update", job),
        error=outcome.error,
        field=str(outcome.error.details.get("field", "")) if outcome.error else "",
        status=400 if outcome.error else 200,
    )


@action("remove_schedule", "job")
def remove_schedule(request: HttpRequest, scope: Scope, metadata: Metadata, job_id: str) -> tuple[str, str]:
    job = job_in_scope(scope, job_id)
    actions.do_remove_schedule(metadata=metadata, job=job)
    return _("Schedule removed."), reverse("admin:console-job-schedule", args=[job.id])
