"""Tenants and workspaces over HTTP. Writes call tenancy.actions; reads use read models."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import AuditedViewSet, TenantViewSet, metadata_for, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.iam import access
from controlplane.tenancy import actions
from controlplane.tenancy.api import serializers as s
from controlplane.tenancy.models import Tenant, Workspace


class TenantCollectionViewSet(mixins.ListModelMixin, AuditedViewSet):
    """``/api/v1/tenants/``: the tenants the caller can see; creating one is for platform administrators."""

    resource_type = "tenant"
    permission_classes = [IsAuthenticated]
    serializer_class = s.TenantSerializer
    pagination_class = type("TenantCursor", (Cursor,), {"ordering": "slug"})

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return access.visible_tenants(self.request.user)

    @extend_schema(request=s.TenantCreateSerializer, responses={201: s.TenantSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        access.require_platform_admin(request.user, "create tenants")
        data = s.TenantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant_id = actions.do_create_tenant(metadata=metadata_for(request, None), **data.validated_data)
        tenant = Tenant.objects.get(id=tenant_id)
        self.tenant = tenant
        self.audit_id = tenant.id
        body = s.TenantSerializer(tenant).data
        return with_etag(Response(body, status=status.HTTP_201_CREATED), tenant.version)


class TenantDetailViewSet(TenantViewSet):
    """``/api/v1/tenants/<tenant>/``: read, rename (If-Match), disable/enable, quotas."""

    resource_type = "tenant"
    serializer_class = s.TenantSerializer
    points = {
        "retrieve": "tenant.read",
        "partial_update": "tenant.update",
        "quotas": "tenant.update",
        "disable": "tenant.disable",
        "enable": "tenant.disable",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Tenant.objects.filter(id=self.tenant.id)

    def audit_resource_id(self) -> str:
        return self.tenant.id if self.tenant else ""

    def _respond(self) -> Response:
        tenant = Tenant.objects.get(id=self.tenant.id)
        return with_etag(Response(s.TenantSerializer(tenant).data), tenant.version)

    def retrieve(self, request: Request, tenant: str) -> Response:
        return self._respond()

    @extend_schema(request=s.TenantRenameSerializer, responses=s.TenantSerializer)
    def partial_update(self, request: Request, tenant: str) -> Response:
        data = s.TenantRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(self.tenant.version)
        actions.do_rename_tenant(
            metadata=self.metadata(),
            tenant_id=self.tenant.id,
            name=data.validated_data["name"],
            expected_version=self.tenant.version,
        )
        return self._respond()

    @extend_schema(request=s.QuotasSerializer, responses=s.TenantSerializer)
    @action(detail=False, methods=["put"])
    def quotas(self, request: Request, tenant: str) -> Response:
        data = s.QuotasSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(self.tenant.version)
        actions.do_set_quotas(
            metadata=self.metadata(),
            tenant_id=self.tenant.id,
            quotas=dict(data.validated_data),
            expected_version=self.tenant.version,
        )
        return self._respond()

    @extend_schema(request=s.DisableSerializer, responses=s.TenantSerializer)
    @action(detail=False, methods=["post"])
    def disable(self, request: Request, tenant: str) -> Response:
        data = s.DisableSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(self.tenant.version)
        actions.do_disable_tenant(metadata=self.metadata(), tenant_id=self.tenant.id, **data.validated_data)
        return self._respond()

    @extend_schema(request=None, responses=s.TenantSerializer)
    @action(detail=False, methods=["post"])
    def enable(self, request: Request, tenant: str) -> Response:
        self.check_version(self.tenant.version)
        actions.do_enable_tenant(metadata=self.metadata(), tenant_id=self.tenant.id)
        return self._respond()


class WorkspaceViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/workspaces/[<slug>/]``."""

    resource_type = "workspace"
    serializer_class = s.WorkspaceSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "slug"
    pagination_class = type("WorkspaceCursor", (Cursor,), {"ordering": "slug"})
    points = {"list": "workspace.read", "retrieve": "workspace.read", "create": "workspace.create"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        # a member holding roles on some workspaces only sees those; another is answered as a made-up slug
        return access.visible_workspaces(self.request.user, self.tenant)

    def retrieve(self, request: Request, tenant: str, slug: str) -> Response:
        workspace = self.get_object()
        return with_etag(Response(s.WorkspaceSerializer(workspace).data), self.tenant.version)

    @extend_schema(request=s.WorkspaceCreateSerializer, responses={201: s.WorkspaceSerializer})
    @idempotent
    def create(self, request: Request, tenant: str) -> Response:
        data = s.WorkspaceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace_id = actions.do_create_workspace(
            metadata=self.metadata(), tenant_id=self.tenant.id, **data.validated_data
        )
        self.audit_id = workspace_id
        workspace = Workspace.objects.get(id=workspace_id)
        return Response(s.WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)
