"""Secrets: names and metadata of the workspace's secrets (all the tenant's for "all workspaces"), never a value;
create, store a new value, delete, and reveal. A reveal is a POST after a confirmation page, calls
``do_reveal_secret`` (``secret.reveal``; it appends ``secrets.secret_revealed`` before decrypting) and shows the
value in that answer only: not in the session, not in a message, ``Cache-Control: no-store``. A value typed into a
form that was refused is not sent back either: the page says so."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from controlplane.console.pages.frame import Scope, action, page, refill, refused, render, shown_once
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access
from controlplane.secrets import actions, selectors
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.models import Secret
from controlplane.tenancy.models import Workspace

POINTS = ("secret.create", "secret.update", "secret.delete", "secret.reveal")
VALUE_FIELDS = ("value",)  # never sent back to the browser


def _places(scope: Scope) -> list[Workspace]:
    return [scope.workspace] if scope.workspace is not None else scope.workspaces


def _may(scope: Scope, workspace: Workspace) -> dict[str, bool]:
    """The secret points held in one workspace (a role on it, or on the whole tenant): which buttons to draw."""
    return {point.split(".")[1]: access.has(scope.user, point, scope.tenant, workspace) for point in POINTS}


def _secret(scope: Scope, secret_id: str) -> tuple[Secret, Workspace]:
    """A live secret of a workspace in scope, or 404 (another tenant's or workspace's, deleted, made up)."""
    try:
        secret = selectors.secret_get(tenant_id=scope.tenant.id, secret_id=secret_id)
    except SecretNotFound as exc:
        raise Http404 from exc
    workspace = next((w for w in _places(scope) if w.id == secret.workspace_id), None)
    if workspace is None:
        raise Http404
    return secret, workspace


def _secrets(request: HttpRequest, scope: Scope, status: int = 200, **form: object) -> HttpResponse:
    places = [(w, _may(scope, w)) for w in _places(scope)]
    rows = [
        (secret, workspace)
        for workspace, _may_here in places
        for secret in selectors.secret_list(tenant_id=scope.tenant.id, workspace_id=workspace.id)
    ]
    return render(
        request,
        scope,
        "console/settings_secrets.html",
        _("Secrets"),
        status=status,
        secrets=rows,
        create_in=[w for w, may in places if may["create"]],
        **form,
    )


@page("secret.read")
def secret_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _secrets(request, scope)


def _detail(request: HttpRequest, scope: Scope, secret_id: str, status: int = 200, **form: object) -> HttpResponse:
    secret, workspace = _secret(scope, secret_id)
    return render(
        request,
        scope,
        "console/settings_secret.html",
        secret.name,
        title_is_name=True,
        status=status,
        secret=secret,
        workspace=workspace,
        may=_may(scope, workspace),
        **form,
    )


@page("secret.read")
def secret_detail(request: HttpRequest, scope: Scope, secret_id: str) -> HttpResponse:
    return _detail(request, scope, secret_id)


@page("secret.read")
def secret_reveal_confirm(request: HttpRequest, scope: Scope, secret_id: str) -> HttpResponse:
    """Asks before revealing: the reveal itself is the POST of this page's button."""
    secret, workspace = _secret(scope, secret_id)
    try:
        access.require(scope.user, "secret.reveal", scope.tenant, workspace)
    except access.AccessDenied as exc:
        return refused(request, scope, str(exc))
    return render(
        request,
        scope,
        "console/settings_secret_reveal.html",
        secret.name,
        title_is_name=True,
        secret=secret,
        workspace=workspace,
    )


@action("create", "secret", form=refill(_secrets, "secret", keep_out=VALUE_FIELDS))
def create_secret(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> tuple[str, str]:
    workspace = next((w for w in _places(scope) if w.id == request.POST.get("workspace", "")), None)
    if workspace is None:
        raise DomainError("choose a workspace", code="WORKSPACE_NOT_FOUND", field="workspace")
    secret_id = actions.do_create_secret(
        metadata=metadata,
        tenant_id=scope.tenant.id,
        workspace_id=workspace.id,
        name=request.POST.get("name", "").strip(),
        description=request.POST.get("description", ""),
        value=request.POST.get("value", ""),
    )
    return _("Secret created."), reverse("admin:console-secret", args=[secret_id])


def _detail_again(request: HttpRequest, scope: Scope, error: DomainError, secret_id: str) -> HttpResponse:
    """The secret's page again with the refusal; its only field is the value, which is not sent back."""
    field = str(error.details.get("field", ""))
    return _detail(request, scope, secret_id, status=400, form="value", values={}, error=error, error_field=field)


@action("update", "secret", form=_detail_again)
def update_secret(request: HttpRequest, scope: Scope, metadata: Metadata, secret_id: str) -> tuple[str, str]:
    secret, _workspace = _secret(scope, secret_id)
    version = actions.do_update_secret(metadata=metadata, secret_id=secret.id, value=request.POST.get("value", ""))
    return _("Version %(version)s stored.") % {"version": version}, reverse("admin:console-secret", args=[secret.id])


@action("delete", "secret")
def delete_secret(request: HttpRequest, scope: Scope, metadata: Metadata, secret_id: str) -> tuple[str, str]:
    secret, _workspace = _secret(scope, secret_id)
    actions.do_delete_secret(metadata=metadata, secret_id=secret.id)
    return _("Secret %(name)s deleted.") % {"name": secret.name}, reverse("admin:console-secrets")


@action("reveal", "secret")
def reveal_secret(request: HttpRequest, scope: Scope, metadata: Metadata, secret_id: str) -> HttpResponse:
    secret, workspace = _secret(scope, secret_id)
    value = actions.do_reveal_secret(metadata=metadata, secret_id=secret.id)
    return shown_once(  # the value is in this answer only: no cache, no session, no message
        request,
        scope,
        "console/settings_secret_revealed.html",
        secret.name,
        title_is_name=True,
        secret=secret,
        workspace=workspace,
        value=value,
    )
