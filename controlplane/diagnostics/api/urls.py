"""Diagnostics' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import collection
from controlplane.diagnostics.api.views import ArchiveViewSet, FaultViewSet, FindingViewSet

workspace_urlpatterns = [
    path("faults/match/", FaultViewSet.as_view({"post": "match"}), name="fault-match"),
    path("diagnostic-archives/", collection(ArchiveViewSet), name="diagnostic-archive-list"),
    path(
        "diagnostic-archives/<str:pk>/", ArchiveViewSet.as_view({"get": "retrieve"}), name="diagnostic-archive-detail"
    ),
    path(
        "diagnostic-archives/<str:pk>/download/",
        ArchiveViewSet.as_view({"get": "download"}),
        name="diagnostic-archive-download",
    ),
    path("findings/", collection(FindingViewSet), name="finding-list"),
    path("findings/<str:pk>/", FindingViewSet.as_view({"get": "retrieve"}), name="finding-detail"),
    path("findings/<str:pk>/fix-plan/", FindingViewSet.as_view({"post": "fix_plan"}), name="finding-fix-plan"),
    path("findings/<str:pk>/fix/", FindingViewSet.as_view({"post": "fix"}), name="finding-fix"),
]
