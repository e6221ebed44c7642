"""Secrets' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import collection
from controlplane.secrets.api.views import SecretViewSet

workspace_urlpatterns = [
    path("secrets/", collection(SecretViewSet), name="secret-list"),
    path(
        "secrets/<str:pk>/",
        collection(SecretViewSet, {"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="secret-detail",
    ),
    path("secrets/<str:pk>/reveal/", SecretViewSet.as_view({"post": "reveal"}), name="secret-reveal"),
]
