"""The base of every tenant API view: the tenant (and workspace) come from the URL path, never the body.

``TenantViewSet`` resolves ``<tenant>`` (slug) and ``<workspace>`` (slug) from the path, answers 404 for a
tenant the caller cannot see (never 403, never the object), binds the tenant context for the request,
asks ``iam.access`` for the permission point of the action, and writes exactly one audit record for every
mutating request, whatever its outcome, and for every refused read (403, or 404 on a tenant or object that
exists but is not the caller's), in the trail of the tenant the request aimed at. Subclasses declare; they do
not override ``get_queryset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.http import Http404, HttpRequest
from rest_framework import viewsets
from rest_framework.exceptions import APIException, MethodNotAllowed, NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.errors import PreconditionFailed
from controlplane.audit.recorder import record_request, request_actor
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import access
from controlplane.tenancy import context
from controlplane.tenancy.models import Tenant, Workspace
from controlplane.tenancy.selectors import tenant_by_slug, workspace_by_slug

SAFE = ("GET", "HEAD", "OPTIONS")


def metadata_for(request: Request | HttpRequest, tenant: Tenant | None, workspace: Workspace | None = None) -> Metadata:
    """Who acts, for whom and from where: the metadata of a write made by an API request or a console button."""
    kind, actor_id = request_actor(request)
    plain = getattr(request, "_request", request)  # DRF wraps Django's request, where the middleware put the id
    request_id = getattr(request, "request_id", "") or getattr(plain, "request_id", "")
    return Metadata(
        tenant_id=tenant.id if tenant else None,
        workspace_id=workspace.id if workspace else None,
        actor=Actor(kind="user" if kind == "anonymous" else kind, id=actor_id or "anonymous"),
        request_id=request_id,
        correlation_id=request.headers.get("X-Correlation-ID", "")[:64] or request_id,
        client_address=request.META.get("REMOTE_ADDR", "")[:64],
        principal=request.user,
    )


SLUG_IN_AUDIT = 50  # characters of a slug that names no tenant kept on the platform trail (slugs are 1..50)


@dataclass(frozen=True)
class Aim:
    """The trail an audit record goes to: a tenant (and workspace), or the platform trail (``tenant_id`` "") with
    the slugs a request named that no tenant or workspace has."""

    tenant_id: str = ""
    workspace_id: str = ""
    tried: dict[str, str] = field(default_factory=dict)


def aim_of(tenant: Tenant | None, kwargs: dict[str, Any]) -> Aim:
    """Where a request refused at its tenant or workspace is recorded: the trail of the tenant its path named (and
    the workspace, when that exists there); for a slug no tenant has, the platform trail with the slugs tried."""
    tried = {f"{k}_slug": str(kwargs[k])[:SLUG_IN_AUDIT] for k in ("tenant", "workspace") if kwargs.get(k)}
    if tenant is None:
        return Aim(tried=tried)
    workspace = workspace_by_slug(tenant, kwargs["workspace"]) if kwargs.get("workspace") else None
    if kwargs.get("workspace") and workspace is None:
        return Aim(tenant.id, tried={"workspace_slug": tried["workspace_slug"]})
    return Aim(tenant.id, workspace.id if workspace else "")


class AuditedViewSet(viewsets.GenericViewSet):
    """Every non-safe request leaves exactly one audit record (ok, denied or failed with its code); a read leaves
    one when it is refused: 403, or 404 on something that exists but is not the caller's (``aim``)."""

    resource_type: ClassVar[str]
    tenant: Tenant | None = None
    workspace: Workspace | None = None
    refused_aim: Aim | None = None  # set when the tenant or workspace of the path is refused (404)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE and request.content_type.startswith("application/json"):
            request.data  # noqa: B018  (parse now: malformed JSON is refused even by views that read no body)

    def audit_resource_id(self) -> str:
        return str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))

    def hidden_object(self) -> Aim | None:
        """For a 404 on ``…/<id>/``: the place of the object when the id exists in another tenant or workspace
        than the path's (a probe); None when it exists nowhere, or is only filtered out here (deleted)."""
        value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if not value or self.lookup_field not in ("pk", "id") or self.tenant is None:
            return None
        try:
            manager = getattr(self.get_queryset().model, "unscoped", None)  # TenantOwned models only
            found = manager.filter(pk=value).values_list("tenant_id", "workspace_id").first() if manager else None
        except (APIException, Http404, DomainError, ValueError):  # a parent in the path not found; a malformed id
            return None
        here = (
            found is not None
            and found[0] == self.tenant.id
            and (self.workspace is None or found[1] == self.workspace.id)
        )
        # a caller let in by roles on some objects (ADR 0019) probing a sibling here is recorded like any probe
        if found is None or (here and not getattr(self, "restricted", False)):
            return None
        return Aim(found[0], found[1] or "")

    def aim(self, request: Request, status: int) -> Aim | None:
        """The trail this request's record goes to, or None when it needs none (a read that was not refused)."""
        if self.refused_aim is not None:
            return self.refused_aim
        hidden = self.hidden_object() if status == 404 else None
        if hidden is not None:
            return hidden
        if request.method in SAFE and status != 403:
            return None
        return Aim(self.tenant.id if self.tenant else "", self.workspace.id if self.workspace else "")

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        aim = self.aim(request, response.status_code)
        if aim is not None:
            code = ""
            envelope = getattr(response, "data", None)
            if response.status_code >= 400 and isinstance(envelope, dict) and isinstance(envelope.get("error"), dict):
                code = envelope["error"].get("code", "")
            result = (
                "ok"
                if response.status_code < 400
                else "denied"
                if response.status_code in (401, 403, 404)
                else "failed"
            )
            record_request(
                request,
                action=f"{self.resource_type}.{self.action or request.method.lower()}",
                resource_type=self.resource_type,
                resource_id=getattr(self, "audit_id", "") or self.audit_resource_id(),
                result=result,
                error_code=code,
                tenant_id=aim.tenant_id,
                workspace_id=aim.workspace_id,
                details=aim.tried or None,
            )
        return response


class TenantViewSet(AuditedViewSet):
    """Base of every viewset under ``/api/v1/tenants/<tenant>/`` (and ``…/workspaces/<workspace>/``)."""

    permission_classes = [IsAuthenticated]
    # action name -> permission point; an action missing here is refused (fail closed)
    points: ClassVar[dict[str, str]]
    workspace_scoped: ClassVar[bool] = False
    # "cluster" / "job": the rows are such objects (or belong to one, as runs to a job), and a role on one object
    # lets its holder in to the objects granted only (ADR 0019)
    object_grants: ClassVar[str] = ""
    restricted = False  # this caller holds the point only on some objects: rows restricted, each object checked

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must not override get_queryset; implement scoped_queryset()")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication first: 401 before anything else
        if request.method.lower() not in self.action_map and request.method != "OPTIONS":
            raise MethodNotAllowed(request.method)  # a route without this method, not an action refused: 405
        self.tenant = tenant_by_slug(kwargs.get("tenant", ""))
        token = getattr(request._request, "api_token", None)
        if self.tenant is None or not access.visible(request.user, self.tenant):
            self.refused_aim = aim_of(self.tenant, kwargs)
            self.tenant = None
            raise NotFound()
        if token is not None and token.tenant_id != self.tenant.id:
            self.refused_aim = aim_of(self.tenant, kwargs)
            raise NotFound()  # a token is scoped to one tenant
        if self.workspace_scoped:
            self.workspace = workspace_by_slug(self.tenant, kwargs.get("workspace", ""))
            if self.workspace is None:
                raise NotFound()
        point = self.points.get(self.action or "")
        if point is None:
            raise access.AccessDenied(f"no permission point is declared for {self.action!r}")
        if self.object_grants:
            self.restricted = access.require_here_or_on_objects(
                request.user, point, self.tenant, self.workspace, self.object_grants
            )
        else:
            access.require(request.user, point, self.tenant, self.workspace)
        self._context = context.bound(self.tenant.id, self.workspace.id if self.workspace else None)
        self._context.__enter__()

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().finalize_response(request, response, *args, **kwargs)
        finally:
            ctx = getattr(self, "_context", None)
            if ctx is not None:
                self._context = None
                ctx.__exit__(None, None, None)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        rows = self.scoped_queryset()
        return access.restrict(self.request.user, rows, self.tenant, self.workspace) if self.restricted else rows

    def get_object(self):  # type: ignore[no-untyped-def]
        obj = super().get_object()
        self.check_object(obj)
        return obj

    def check_object(self, obj: Any) -> None:
        """For a caller let in by roles on some objects: one not granted is not found (like any unknown id); one
        granted without this action's point is refused."""
        if not self.restricted:
            return
        if not access.has(self.request.user, f"{self.object_grants}.read", self.tenant, self.workspace, obj):
            raise NotFound()
        access.require(self.request.user, self.points[self.action], self.tenant, self.workspace, obj)

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError(f"{type(self).__name__} must implement scoped_queryset()")

    def metadata(self) -> Metadata:
        return metadata_for(self.request, self.tenant, self.workspace)

    def check_version(self, current: int) -> None:
        """Honour If-Match: a stale version answers 412. (Body ``version`` fields answer 409 in actions.)"""
        expected = self.request.headers.get("If-Match")
        if expected is None:
            return
        if expected.strip().strip('"').removeprefix("W/").strip('"') != str(current):
            raise PreconditionFailed(f"the resource is at version {current}, not {expected}", current_version=current)


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = f'"{version}"'
    return response
