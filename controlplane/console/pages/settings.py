"""Settings: the tenant (name, quotas, state: rename and quotas for ``tenant.update``, disable and enable for
``tenant.disable``), its workspaces, and for platform administrators every tenant with a form to create one. Each
button posts to the writer the API's tenant and workspace endpoints call (``tenancy.actions``). Members, API
tokens and secrets have their own modules; ``on_tenant`` and ``whole_number`` are shared with them."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.console.pages.frame import Scope, action, page, refill, render
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access
from controlplane.tenancy import actions

QUOTAS = (
    ("clusters", gettext_lazy("Clusters")),
    ("jobs", gettext_lazy("Jobs")),
    ("concurrent_runs", gettext_lazy("Concurrent runs")),
)


def on_tenant(scope: Scope, point: str) -> bool:
    """A point held on the whole tenant, whichever workspace is chosen: the tenant-level writers (members, tenant,
    new workspaces) authorize on the tenant, so a role on one workspace draws no button for them."""
    return access.has(scope.user, point, scope.tenant)


def whole_number(text: str, field: str) -> int | None:
    """A form's whole number; blank is None (no limit, no expiry)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise DomainError(f"{field} must be a whole number", code="VALIDATION_FAILED", field=field) from None


def _this_tenant(scope: Scope, tenant_id: str) -> None:
    if tenant_id != scope.tenant.id:  # a button acts on the tenant in scope only
        raise Http404


def _overview(request: HttpRequest, scope: Scope, status: int = 200, **form: object) -> HttpResponse:
    tenant = scope.tenant
    platform = access.is_platform_admin(scope.user)
    kept = form.get("values") if form.get("form") == "quotas" else None
    quotas = []
    for name, label in QUOTAS:
        limit = getattr(tenant, f"quota_{name}")
        shown = kept.get(name, "") if isinstance(kept, dict) else ("" if limit is None else limit)
        quotas.append((name, label, limit, shown))
    return render(
        request,
        scope,
        "console/settings.html",
        _("Settings"),
        status=status,
        tenant=tenant,
        quotas=quotas,  # (name, label, limit, what the form shows: the limit, or the refused input)
        can_update=on_tenant(scope, "tenant.update"),
        can_disable=on_tenant(scope, "tenant.disable"),
        tenants=list(access.visible_tenants(scope.user)) if platform else None,
        **form,
    )


@page("tenant.read", tenant_wide=True)
def overview(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _overview(request, scope)


@action("rename", "tenant", form=refill(_overview, "rename"))
def rename_tenant(request: HttpRequest, scope: Scope, metadata: Metadata, tenant_id: str) -> tuple[str, str]:
    _this_tenant(scope, tenant_id)
    actions.do_rename_tenant(
        metadata=metadata,
        tenant_id=tenant_id,
        name=request.POST.get("name", ""),
        expected_version=whole_number(request.POST.get("version", ""), "version"),  # a form older than a change: 409
    )
    return _("Tenant renamed."), reverse("admin:console-settings")


@action("set_quotas", "tenant", form=refill(_overview, "quotas"))
def set_quotas(request: HttpRequest, scope: Scope, metadata: Metadata, tenant_id: str) -> tuple[str, str]:
    _this_tenant(scope, tenant_id)
    quotas = {name: whole_number(request.POST.get(name, ""), name) for name, _label in QUOTAS}
    actions.do_set_quotas(
        metadata=metadata,
        tenant_id=tenant_id,
        quotas=quotas,
        expected_version=whole_number(request.POST.get("version", ""), "version"),
    )
    return _("Quotas saved."), reverse("admin:console-settings")


@action("disable", "tenant", form=refill(_overview, "disable"))
def disable_tenant(request: HttpRequest, scope: Scope, metadata: Metadata, tenant_id: str) -> tuple[str, str]:
    _this_tenant(scope, tenant_id)
    actions.do_disable_tenant(metadata=metadata, tenant_id=tenant_id, reason=request.POST.get("reason", ""))
    return _("Tenant disabled: its members and tokens are refused until it is enabled."), reverse(
        "admin:console-settings"
    )


@action("enable", "tenant")
def enable_tenant(request: HttpRequest, scope: Scope, metadata: Metadata, tenant_id: str) -> tuple[str, str]:
    _this_tenant(scope, tenant_id)
    actions.do_enable_tenant(metadata=metadata, tenant_id=tenant_id)
    return _("Tenant enabled."), reverse("admin:console-settings")


@action("create", "tenant", form=refill(_overview, "tenant"), platform=True)
def create_tenant(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> tuple[str, str]:
    actions.do_create_tenant(
        metadata=metadata, name=request.POST.get("name", ""), slug=request.POST.get("slug", "").strip()
    )
    return _("Tenant created: choose it in the switcher above."), reverse("admin:console-settings")


def _workspaces(request: HttpRequest, scope: Scope, status: int = 200, **form: object) -> HttpResponse:
    return render(
        request,
        scope,
        "console/settings_workspaces.html",
        _("Workspaces"),
        status=status,
        workspaces=scope.workspaces,  # the ones this user may see (access.visible_workspaces)
        can_create=on_tenant(scope, "workspace.create"),
        **form,
    )


@page("workspace.read", tenant_wide=True)
def workspaces(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _workspaces(request, scope)


@action("create", "workspace", form=refill(_workspaces, "workspace"))
def create_workspace(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> tuple[str, str]:
    actions.do_create_workspace(
        metadata=metadata,
        tenant_id=scope.tenant.id,
        name=request.POST.get("name", ""),
        slug=request.POST.get("slug", "").strip(),
    )
    return _("Workspace created."), reverse("admin:console-workspaces")
