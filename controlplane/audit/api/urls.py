"""The audit trail's routes: the platform's under ``/api/v1/``, a tenant's under ``/api/v1/tenants/<tenant>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import collection
from controlplane.audit.api.views import AuditViewSet, PlatformAuditViewSet

urlpatterns = [
    path("audit/", PlatformAuditViewSet.as_view({"get": "list"}), name="platform-audit-list"),
    path("audit/export/", PlatformAuditViewSet.as_view({"get": "export"}), name="platform-audit-export"),
]

tenant_urlpatterns = [
    path("audit/", collection(AuditViewSet), name="audit-list"),
    path("audit/export/", AuditViewSet.as_view({"get": "export"}), name="audit-export"),
]
