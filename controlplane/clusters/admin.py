"""Clusters in the console: read-only (changes go through the API and its actions)."""

from __future__ import annotations

from django.contrib import admin

from controlplane.clusters.models import Cluster
from controlplane.eventlog.admin import ReadOnlyAdmin


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    list_display = ("name", "tenant_id", "workspace_id", "form", "mode", "engine_version", "removed", "updated_at")
    list_filter = ("form", "mode", "engine_version", "removed")
    search_fields = ("name", "id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return Cluster.unscoped.all()  # the console is for platform staff: every tenant
