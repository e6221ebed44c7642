"""Tenants and workspaces in the console. Read models are read-only here; changes go through actions."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import TabularInline

from controlplane.eventlog.admin import ReadOnlyAdmin
from controlplane.tenancy.models import Tenant, Workspace


class WorkspaceInline(TabularInline):
    model = Workspace
    fields = ("slug", "name", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Tenant)
class TenantAdmin(ReadOnlyAdmin):
    list_display = ("slug", "name", "version", "created_at")
    search_fields = ("slug", "name")
    inlines = [WorkspaceInline]


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ("slug", "name", "tenant", "created_at")
    list_filter = ("tenant",)
    search_fields = ("slug", "name")
