"""Diagnostics: the archives diagnoses packed (download: ``do_download_archive``, the API's audited writer, behind
``diagnostics.download``) and the findings recorded with them, each fault explained in the user's language; a
finding's page shows the plan of its one-click fix (the API's fix-plan, with its hash) and confirming posts that
hash to ``do_apply_fix``, which runs nothing when the plan changed since it was shown."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from controlplane.clusters.selectors import cluster_list, live_cluster
from controlplane.console.pages.frame import Scope, action, page, readable_one, render
from controlplane.diagnostics import actions, fixes
from controlplane.diagnostics.library import fault_library
from controlplane.diagnostics.models import DiagnosticArchive, Finding
from controlplane.diagnostics.selectors import archive_list, finding_list, language_of
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.operations import actions as operations
from controlplane.operations import plans

PAGE_ROWS = 100


def _archive(scope: Scope, archive_id: str) -> DiagnosticArchive:
    return readable_one(scope, "operation.read", "cluster", archive_list(), archive_id)


def _finding(scope: Scope, finding_id: str) -> Finding:
    return readable_one(scope, "operation.read", "cluster", finding_list(), finding_id)


def _explained(finding: Finding) -> dict[str, str]:
    """The fault's title, explanation and fix in the user's language (the library's; the recorded title else)."""
    fingerprint = fault_library().get(finding.fingerprint_id)
    if fingerprint is None:
        return {"title": finding.title, "explanation": "", "fix": ""}
    language = language_of(get_language())
    return {part: fingerprint.text(part, language) for part in ("title", "explanation", "fix")}


def _may_fix(scope: Scope, finding: Finding) -> bool:
    """Whether the fix's writer would let this user start it: ``job.update`` for a new job version, else
    ``operation.run`` (the operation's own point, a restart's ``cluster.restart``, is asked when it is planned)."""
    kind = fixes.kind_of(finding)
    if kind is None:
        return False
    return scope.has("job.update") if kind == "job_version" else scope.has("operation.run", finding)


@page("operation.read", "cluster")
def diagnostics(request: HttpRequest, scope: Scope) -> HttpResponse:
    archives = scope.readable("operation.read", "cluster", archive_list())
    findings = scope.readable("operation.read", "cluster", finding_list())
    cluster_id = request.GET.get("cluster", "")
    if cluster_id and archives is not None and findings is not None:
        archives, findings = archives.filter(cluster_id=cluster_id), findings.filter(cluster_id=cluster_id)
    now, clusters = timezone.now(), {c.id: c for c in cluster_list()}
    may_download = scope.has("diagnostics.download")  # the writer asks it of the archive's tenant and workspace
    diagnose = plans.point_of("diagnose")
    return render(
        request,
        scope,
        "console/diagnostics.html",
        _("Diagnostics"),
        archives=[
            (a, clusters.get(a.cluster_id), a.state == "available" and a.expires_at > now, may_download)
            for a in archives[:PAGE_ROWS]  # type: ignore[index]
        ],
        findings=[
            (f, _explained(f), _may_fix(scope, f))
            for f in findings[:PAGE_ROWS]  # type: ignore[index]
        ],
        diagnosable=[c for c in clusters.values() if scope.has(diagnose, c)],
    )


@action("download", "diagnostic_archive")
def download_archive(request: HttpRequest, scope: Scope, metadata: Metadata, archive_id: str) -> FileResponse:
    """The API's download: the writer records who took it (and refuses an expired archive), the file streams."""
    archive = _archive(scope, archive_id)
    opened = actions.do_download_archive(metadata=metadata, archive=archive, now=timezone.now())
    response = FileResponse(
        opened, as_attachment=True, filename=f"diagnostics-{archive.id}.tar.gz", content_type="application/gzip"
    )
    response["X-Content-SHA256"] = archive.sha256
    return response


@action("diagnose", "cluster")
def diagnose_cluster(request: HttpRequest, scope: Scope, metadata: Metadata, cluster_id: str) -> tuple[str, str]:
    """Start a diagnosis of the whole cluster (the API's ``diagnose`` operation with its default parameters)."""
    cluster = readable_one(scope, "cluster.read", "cluster", cluster_list(), cluster_id)
    started = operations.do_request_operation(metadata=metadata, cluster=cluster, type="diagnose", params={})
    return _("Diagnosis started."), reverse("admin:console-operation", args=[started])


@page("operation.read", "cluster")
def finding_detail(request: HttpRequest, scope: Scope, finding_id: str) -> HttpResponse:
    finding = _finding(scope, finding_id)
    fault = _explained(finding)
    return render(
        request,
        scope,
        "console/finding.html",
        _("Finding"),
        title_note=fault["title"],
        finding=finding,
        fault=fault,
        cluster=cluster_list().filter(id=finding.cluster_id).first(),
        can_fix=_may_fix(scope, finding),
    )


@page("operation.run", "cluster")
def fix_plan(request: HttpRequest, scope: Scope, finding_id: str) -> HttpResponse:
    """The confirmation: the plan of the finding's one-click fix as it would run now (the API's fix-plan: nothing
    written or run) and its hash, which the confirm button posts."""
    finding, plan, problem = _finding(scope, finding_id), None, ""
    fault = _explained(finding)
    try:
        cluster = live_cluster(finding.tenant_id, finding.workspace_id, finding.cluster_id)
        plan = fixes.plan_fix(finding, cluster)
    except DomainError as error:  # no fix, no agent on the node, a removed cluster: said, not planned
        problem = str(error)
    return render(
        request,
        scope,
        "console/finding_fix.html",
        _("Confirm the fix"),
        title_note=fault["title"],
        finding=finding,
        fault=fault,
        plan=plan,
        problem=problem,
        can_fix=_may_fix(scope, finding),
    )


@action("fix", "finding")
def apply_fix(request: HttpRequest, scope: Scope, metadata: Metadata, finding_id: str) -> tuple[str, str]:
    """Confirm the plan shown, by its hash: the writer plans again and refuses a changed plan (nothing run)."""
    finding = _finding(scope, finding_id)
    cluster = live_cluster(finding.tenant_id, finding.workspace_id, finding.cluster_id)
    started, plan = actions.do_apply_fix(
        metadata=metadata, finding=finding, cluster=cluster, plan_hash=request.POST.get("plan_hash", "")
    )
    if plan.kind == "job_version":  # a new version of the run's job, not a run: "<job id>:<n>"
        job_id = started.rsplit(":", 1)[0]
        return _("A new version of the job was written."), reverse("admin:console-job", args=[job_id])
    return _("Fix started."), reverse("admin:console-operation", args=[started])
