"""Notification channels and deliveries in the console: read-only (changes go through the API and its actions).
A channel shows its secrets' names and masked forms only."""

from __future__ import annotations

from django.contrib import admin

from controlplane.eventlog.admin import ReadOnlyAdmin
from controlplane.notifications.models import Channel, Delivery
from controlplane.notifications.selectors import channels_for_platform, deliveries_for_platform


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "language", "enabled", "deleted", "tenant_id", "workspace_id", "updated_at")
    list_filter = ("kind", "language", "enabled", "deleted")
    search_fields = ("name", "id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return channels_for_platform()


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel_kind", "state", "attempts", "last_error_code", "next_attempt_at", "created_at")
    list_filter = ("state", "channel_kind", "last_error_code", "test")
    search_fields = ("id", "channel_id", "dedup_key", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return deliveries_for_platform()
