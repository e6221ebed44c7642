"""The event log in the console: read-only, newest first, filterable; nothing here can change an event."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from controlplane.eventlog.models import Checkpoint, Event, Stream


class ReadOnlyAdmin(ModelAdmin):
    """A platform page over a read model: platform administrators only (these pages cross tenants; tenant members
    use the console's own pages, docs/CONSOLE.md), and nothing can be added, changed or deleted through it."""

    def has_module_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "position",
        "recorded_at",
        "event_type",
        "stream_id",
        "version",
        "tenant_id",
        "actor_kind",
        "actor_id",
    )
    list_filter = ("event_type", "stream_type", "actor_kind")
    search_fields = ("stream_id", "tenant_id", "actor_id", "request_id", "correlation_id")
    ordering = ("-position",)
    show_full_result_count = False  # counting a large log on every page load is slow


@admin.register(Stream)
class StreamAdmin(ReadOnlyAdmin):
    list_display = ("stream_id", "stream_type", "version", "tenant_id")
    list_filter = ("stream_type",)
    search_fields = ("stream_id", "tenant_id")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "position", "unknown_skipped", "updated_at")
