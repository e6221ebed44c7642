"""Operations' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import collection
from controlplane.operations.api.views import OperationViewSet

workspace_urlpatterns = [
    path("operations/", collection(OperationViewSet), name="operation-list"),
    # Before <pk>/: "plan" is a route, not an operation id.
    path("operations/plan/", OperationViewSet.as_view({"post": "plan"}), name="operation-plan"),
    path("operations/<str:pk>/", OperationViewSet.as_view({"get": "retrieve"}), name="operation-detail"),
    path("operations/<str:pk>/cancel/", OperationViewSet.as_view({"post": "cancel"}), name="operation-cancel"),
]
