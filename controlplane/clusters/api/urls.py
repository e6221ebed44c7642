"""Clusters' routes: the connector catalog under ``/api/v1/``, clusters under
``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import DETAIL, collection
from controlplane.clusters.api.views import CatalogView, ClusterViewSet

urlpatterns = [
    path("catalog/<str:version>/", CatalogView.as_view({"get": "retrieve"}), name="catalog-detail"),
]

workspace_urlpatterns = [
    path("clusters/", collection(ClusterViewSet), name="cluster-list"),
    path("clusters/<str:pk>/", collection(ClusterViewSet, DETAIL), name="cluster-detail"),
    path("clusters/<str:pk>/test/", ClusterViewSet.as_view({"post": "test"}), name="cluster-test"),
    path("clusters/<str:pk>/health/", ClusterViewSet.as_view({"get": "health"}), name="cluster-health"),
    path("clusters/<str:pk>/nodes/", ClusterViewSet.as_view({"get": "nodes"}), name="cluster-nodes"),
    path("clusters/<str:pk>/poll/", ClusterViewSet.as_view({"post": "poll"}), name="cluster-poll"),
    path("clusters/<str:pk>/plugins/", ClusterViewSet.as_view({"get": "plugins"}), name="cluster-plugins"),
]
