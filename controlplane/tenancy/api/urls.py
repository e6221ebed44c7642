"""Tenancy's routes: the tenant collection under ``/api/v1/``, a tenant and its workspaces under
``/api/v1/tenants/<tenant>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import DETAIL, collection
from controlplane.tenancy.api.views import TenantCollectionViewSet, TenantDetailViewSet, WorkspaceViewSet

urlpatterns = [
    path("tenants/", collection(TenantCollectionViewSet), name="tenant-list"),
]

tenant_urlpatterns = [
    path("", TenantDetailViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="tenant-detail"),
    path("quotas/", TenantDetailViewSet.as_view({"put": "quotas"}), name="tenant-quotas"),
    path("disable/", TenantDetailViewSet.as_view({"post": "disable"}), name="tenant-disable"),
    path("enable/", TenantDetailViewSet.as_view({"post": "enable"}), name="tenant-enable"),
    path("workspaces/", collection(WorkspaceViewSet), name="workspace-list"),
    path("workspaces/<slug:slug>/", collection(WorkspaceViewSet, DETAIL), name="workspace-detail"),
]
