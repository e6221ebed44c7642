"""Alerts in the console: read-only (changes go through the API and its actions)."""

from __future__ import annotations

from django.contrib import admin

from controlplane.alerts.models import Alert, AlertRule, Silence
from controlplane.alerts.selectors import alerts_for_platform, rules_for_platform, silences_for_platform
from controlplane.eventlog.admin import ReadOnlyAdmin


@admin.register(AlertRule)
class AlertRuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "severity", "enabled", "deleted", "tenant_id", "workspace_id", "updated_at")
    list_filter = ("kind", "severity", "enabled", "deleted")
    search_fields = ("name", "id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return rules_for_platform()  # the console is for platform staff: every tenant


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("rule_name", "status", "severity", "cluster", "silenced", "inhibited", "acknowledged", "starts_at")
    list_filter = ("status", "severity", "source", "silenced", "inhibited", "acknowledged")
    search_fields = ("id", "rule_name", "cluster", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return alerts_for_platform()


@admin.register(Silence)
class SilenceAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "author", "starts_at", "ends_at", "tenant_id")
    list_filter = ("status",)
    search_fields = ("id", "author", "reason", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return silences_for_platform()
