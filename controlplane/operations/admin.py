"""Operations in the console: read-only (changes go through the API and its actions)."""

from __future__ import annotations

from django.contrib import admin

from controlplane.eventlog.admin import ReadOnlyAdmin
from controlplane.operations import selectors
from controlplane.operations.models import Operation, OperationLease, OperationStep


@admin.register(Operation)
class OperationAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "state", "tenant_id", "cluster_id", "steps_done", "step_count", "created_at")
    list_filter = ("state", "type")
    search_fields = ("id", "tenant_id", "cluster_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.operations_for_platform()  # the console is for platform staff: every tenant


@admin.register(OperationStep)
class OperationStepAdmin(ReadOnlyAdmin):
    list_display = ("operation_id", "index", "key", "state", "attempt", "error_code", "updated_at")
    list_filter = ("state", "kind")
    search_fields = ("operation_id",)

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.operation_steps_for_platform()


@admin.register(OperationLease)
class OperationLeaseAdmin(ReadOnlyAdmin):
    list_display = ("operation_id", "owner", "expires_at", "wake_at", "active", "takeovers")
    list_filter = ("active",)
