"""Diagnostics' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.diagnostics.api.views import FaultViewSet

workspace_urlpatterns = [
    path("faults/match/", FaultViewSet.as_view({"post": "match"}), name="fault-match"),
]
