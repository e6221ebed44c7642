"""Clusters in the console: read-only (changes go through the API and its actions)."""

from __future__ import annotations

from django.contrib import admin

from controlplane.clusters.models import Cluster, Health, Node
from controlplane.clusters.selectors import clusters_for_platform, health_for_platform, nodes_for_platform
from controlplane.eventlog.admin import ReadOnlyAdmin


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    list_display = ("name", "tenant_id", "workspace_id", "form", "mode", "engine_version", "removed", "updated_at")
    list_filter = ("form", "mode", "engine_version", "removed")
    search_fields = ("name", "id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return clusters_for_platform()  # the console is for platform staff: every tenant


@admin.register(Node)
class NodeAdmin(ReadOnlyAdmin):
    list_display = ("address", "cluster_id", "role", "status", "status_since", "tenant_id")
    list_filter = ("status", "role")
    search_fields = ("address", "cluster_id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return nodes_for_platform()


@admin.register(Health)
class HealthAdmin(ReadOnlyAdmin):
    list_display = ("cluster_id", "reachable", "error_code", "engine_version", "running_jobs", "checked_at")
    list_filter = ("reachable", "error_code")
    search_fields = ("cluster_id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return health_for_platform()
