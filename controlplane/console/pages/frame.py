"""What every console page shares: the scope (the tenant and workspace the user chose, kept in the session and
only ever one the user may see), the read check before the page, the metadata and audit record of a button's
write, and the refusal page."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from controlplane.api.base import metadata_for
from controlplane.audit.recorder import record_request
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access
from controlplane.tenancy import context
from controlplane.tenancy.models import Tenant, Workspace

TENANT_KEY, WORKSPACE_KEY = "console_tenant", "console_workspace"


@dataclass(frozen=True)
class Scope:
    user: Any
    tenant: Tenant
    workspace: Workspace | None  # None: every workspace of the tenant (tenant-wide members only)
    tenants: list[Tenant]
    workspaces: list[Workspace]
    whole_tenant: bool  # may choose "all workspaces"

    @property
    def workspace_id(self) -> str | None:
        """The chosen workspace's id; None: every workspace (the selectors' ``workspace_id`` for "all")."""
        return self.workspace.id if self.workspace is not None else None

    def has(self, point: str, obj: Any = None) -> bool:
        return access.has(self.user, point, self.tenant, self.workspace, obj)

    def workspace_for_new(self, chosen: str) -> str:
        """The workspace a new object (a rule, a silence, a channel) goes to: the one chosen in the scope, else the
        one the form names among those the user sees (404 for any other)."""
        if self.workspace is not None:
            return self.workspace.id
        if chosen in {w.id for w in self.workspaces}:
            return chosen
        raise Http404

    def readable(self, point: str, kind: str | None, rows: QuerySet) -> QuerySet | None:
        """``rows`` when the point is held here; only the objects granted when it is held on some (``kind``);
        None when not at all (the page leaves that part out)."""
        if self.has(point):
            return rows
        if kind and access.granted_ids(self.user, point, kind, self.tenant, self.workspace):
            return access.restrict(self.user, rows, self.tenant, self.workspace)
        return None


def readable_one(scope: Scope, point: str, kind: str, rows: QuerySet, object_id: str) -> Any:
    """The row with this id if the user may read it here (``Scope.readable``); 404 otherwise, as in the API (another
    tenant's object too)."""
    found = scope.readable(point, kind, rows)
    row = found.filter(id=object_id).first() if found is not None else None
    if row is None:
        raise Http404
    return row


def current_scope(request: HttpRequest) -> Scope | None:
    user = request.user
    tenants = list(access.visible_tenants(user).order_by("slug"))
    if not tenants:
        return None
    chosen = request.session.get(TENANT_KEY)
    tenant = next((t for t in tenants if t.id == chosen), tenants[0])
    workspaces = list(access.visible_workspaces(user, tenant))
    whole = access.has(user, "workspace.read", tenant)
    chosen = request.session.get(WORKSPACE_KEY)
    workspace = next((w for w in workspaces if w.id == chosen), None)
    if workspace is None and not whole and workspaces:
        workspace = workspaces[0]
    return Scope(user, tenant, workspace, tenants, workspaces, whole)


def render(request: HttpRequest, scope: Scope | None, template: str, title: str, status: int = 200, **values: Any):  # type: ignore[no-untyped-def]
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "scope": scope, "title": title, **values},
        status=status,
    )


def shown_once(request: HttpRequest, scope: Scope, template: str, title: str, **values: Any) -> HttpResponse:
    """A page in a POST's answer only (a new token, a revealed value): never cached (``no-store``), and never in
    the session or a message."""
    response = render(request, scope, template, title, **values)
    response["Cache-Control"] = "no-store"
    return response


def refused(request: HttpRequest, scope: Scope | None, message: str) -> HttpResponse:
    return render(request, scope, "console/refused.html", _("Not allowed"), status=403, message=message)


def page(point: str, kind: str | None = None, *, tenant_wide: bool = False) -> Callable:
    """A page that needs ``point`` in the scope (or on some objects of ``kind``); a tenant-wide point
    (audit) is asked of the tenant whatever the workspace."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            scope = current_scope(request)
            if scope is None:
                return render(request, None, "console/no_tenant.html", _("No tenant"))
            workspace = None if tenant_wide else scope.workspace
            try:
                if kind is None:
                    access.require(scope.user, point, scope.tenant, workspace)
                else:
                    access.require_here_or_on_objects(scope.user, point, scope.tenant, workspace, kind)
            except access.NotVisible as exc:
                raise Http404 from exc
            except DomainError as exc:  # AccessDenied, TenantDisabled
                return refused(request, scope, str(exc))
            with context.bound(scope.tenant.id, workspace.id if workspace else None):
                return view(request, scope, *args, **kwargs)

        return wrapped

    return decorate


def metadata_of(request: HttpRequest, scope: Scope) -> Metadata:
    return metadata_for(request, scope.tenant, scope.workspace)  # the API's: a button acts as its API call would


def errors_at_fields(error: DomainError, fields: Collection[str]) -> dict[str, str]:
    """A writer's refusal keyed by the form field its ``details.field`` names: the field itself when the form has
    one of that name (``params.seconds``), else the field it is part of (``matchers[0].op`` -> ``matchers``);
    ``form`` when it names none of ``fields``."""
    named = str(error.details.get("field", ""))
    field = named if named in fields else re.split(r"[.\[]", named)[0]
    return {field if field in fields else "form": str(error)}


def refill(page_of: Callable[..., HttpResponse], form: str, keep_out: Iterable[str] = ()) -> Callable:
    """The ``form`` callback of an ``@action``: the page again (400) with the input kept and the writer's error at
    its field. ``keep_out``: fields never sent back to the browser (a secret's value)."""
    hidden = {"csrfmiddlewaretoken", *keep_out}

    def again(request: HttpRequest, scope: Scope, error: DomainError, object_id: str) -> HttpResponse:
        values = {key: value for key, value in request.POST.items() if key not in hidden}
        field = str(error.details.get("field", ""))
        return page_of(request, scope, status=400, form=form, values=values, error=error, error_field=field)

    return again


def back_to(request: HttpRequest) -> str:
    """The page a button was on (its form's ``next``), if it is one of ours; else the dashboard."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and target.startswith("/admin/"):
        return target
    return reverse("admin:console-dashboard")


def action(name: str, resource_type: str, *, form: Callable | None = None, platform: bool = False) -> Callable:
    """A button's POST: the view finds its object and calls one ``do_*`` writer, which authorizes the user itself
    (a forged POST is refused there: 403, nothing written). Returns a message and the URL to go to next; one audit
    record on the tenant's trail whatever the outcome, as every API write has (a 404 too: ``denied``, ``NOT_FOUND``).

    A form's POST names ``form(request, scope, error, object_id)``: a writer's domain error re-renders the form with
    the input kept and the error at its field (``error.details["field"]``) instead of a message on a redirect. A
    create has no object yet: its URL has no ``object_id``, and it returns the new object's id after the URL.

    A view may return a page instead (what is shown once: a new token, a revealed value), rendered in the POST's
    answer and never kept in the session. ``platform``: a platform administrator's write outside the tenant
    (creating a tenant), recorded on the platform trail, not the tenant's."""

    def decorate(view: Callable) -> Callable:
        @require_POST
        @wraps(view)
        def wrapped(request: HttpRequest, object_id: str = "") -> HttpResponse:
            scope = current_scope(request)
            if scope is None:
                raise Http404
            audit = {
                "action": f"console.{name}",
                "resource_type": resource_type,
                "resource_id": object_id,
                "tenant_id": "" if platform else scope.tenant.id,
                "workspace_id": scope.workspace.id if scope.workspace and not platform else "",
            }
            try:
                with context.bound(scope.tenant.id, scope.workspace_id):
                    done = view(request, scope, metadata_of(request, scope), object_id)
            except (access.NotVisible, Http404) as exc:  # not there, or not for this user: the same answer
                record_request(request, result="denied", error_code="NOT_FOUND", **audit)
                raise Http404 from exc
            except (access.AccessDenied, access.TenantDisabled) as exc:
                record_request(request, result="denied", error_code=exc.code, **audit)
                return refused(request, scope, str(exc))
            except DomainError as exc:
                record_request(request, result="failed", error_code=exc.code, **audit)
                if form is not None:
                    with context.bound(scope.tenant.id, scope.workspace_id):
                        return form(request, scope, exc, object_id)
                messages.error(request, _("Refused: %(reason)s") % {"reason": str(exc)})
                return HttpResponseRedirect(back_to(request))
            if isinstance(done, HttpResponseBase):  # a page shown once (a new token) or a file (a diagnostic archive)
                record_request(request, result="ok", **audit)
                return done
            message, url, *created = done  # a create returns its new object's id too: the record names it
            record_request(request, result="ok", **{**audit, "resource_id": created[0] if created else object_id})
            messages.success(request, message)
            return HttpResponseRedirect(url)

        return wrapped

    return decorate


def form_page(show: Callable, post: Callable) -> Callable:
    """A form's page and its ``@action`` at one URL (the job forms'): GET draws the form (``show``, a ``@page``),
    POST is the write (``post``, an ``@action`` whose ``form`` draws it again on a refusal)."""

    def view(request: HttpRequest, **object_ids: str) -> HttpResponse:
        if request.method == "POST":
            return post(request, *object_ids.values())  # the action takes the URL's one id as ``object_id``
        return show(request, **object_ids)

    return view
