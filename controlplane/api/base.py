"""The base of every tenant API view: the tenant (and workspace) come from the URL path, never the body.

``TenantViewSet`` resolves ``<tenant>`` (slug) and ``<workspace>`` (slug) from the path, answers 404 for a
tenant the caller cannot see (never 403, never the object), binds the tenant context for the request,
asks ``iam.access`` for the permission point of the action, and writes exactly one audit record for every
mutating request, whatever its outcome. Subclasses declare; they do not override ``get_queryset``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import viewsets
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.errors import PreconditionFailed
from controlplane.audit.recorder import record_request, request_actor
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import access
from controlplane.tenancy import context
from controlplane.tenancy.models import Tenant, Workspace
from controlplane.tenancy.selectors import tenant_by_slug, workspace_by_slug

SAFE = ("GET", "HEAD", "OPTIONS")


def metadata_for(request: Request, tenant: Tenant | None, workspace: Workspace | None = None) -> Metadata:
    kind, actor_id = request_actor(request)
    request_id = getattr(request, "request_id", "") or getattr(request._request, "request_id", "")
    return Metadata(
        tenant_id=tenant.id if tenant else None,
        workspace_id=workspace.id if workspace else None,
        actor=Actor(kind="user" if kind == "anonymous" else kind, id=actor_id or "anonymous"),
        request_id=request_id,
        correlation_id=request.headers.get("X-Correlation-ID", "")[:64] or request_id,
        client_address=request.META.get("REMOTE_ADDR", "")[:64],
    )


class AuditedViewSet(viewsets.GenericViewSet):
    """Every non-safe request leaves exactly one audit record (ok, denied or failed with its code)."""

    resource_type: ClassVar[str]
    tenant: Tenant | None = None
    workspace: Workspace | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE and request.content_type.startswith("application/json"):
            request.data  # noqa: B018  (parse now: malformed JSON is refused even by views that read no body)

    def audit_resource_id(self) -> str:
        return str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in SAFE:
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
                tenant_id=self.tenant.id if self.tenant else "",
                workspace_id=self.workspace.id if self.workspace else "",
            )
        return response


class TenantViewSet(AuditedViewSet):
    """Base of every viewset under ``/api/v1/tenants/<tenant>/`` (and ``…/workspaces/<workspace>/``)."""

    permission_classes = [IsAuthenticated]
    # action name -> permission point; an action missing here is refused (fail closed)
    points: ClassVar[dict[str, str]]
    workspace_scoped: ClassVar[bool] = False

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
            self.tenant = None
            raise NotFound()
        if token is not None and token.tenant_id != self.tenant.id:
            raise NotFound()  # a token is scoped to one tenant
        if self.workspace_scoped:
            self.workspace = workspace_by_slug(self.tenant, kwargs.get("workspace", ""))
            if self.workspace is None:
                raise NotFound()
        point = self.points.get(self.action or "")
        if point is None:
            raise access.AccessDenied(f"no permission point is declared for {self.action!r}")
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
        return self.scoped_queryset()

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
