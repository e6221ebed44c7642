"""Agents in the console: read-only (changes go through the API and its actions)."""

from __future__ import annotations

from django.contrib import admin

from controlplane.agents import selectors
from controlplane.agents.models import Action, Agent, AgentLiveness, BootstrapToken
from controlplane.eventlog.admin import ReadOnlyAdmin


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ("hostname", "status", "cluster_id", "member_address", "agent_version", "tenant_id", "status_since")
    list_filter = ("status",)
    search_fields = ("hostname", "id", "member_address", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.agents_for_platform()  # the console is for platform staff: every tenant


@admin.register(AgentLiveness)
class AgentLivenessAdmin(ReadOnlyAdmin):
    list_display = ("agent_id", "last_heartbeat_at", "heartbeats", "tenant_id")
    search_fields = ("agent_id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.liveness_for_platform()


@admin.register(BootstrapToken)
class BootstrapTokenAdmin(ReadOnlyAdmin):
    list_display = ("id", "tenant_id", "workspace_id", "cluster_id", "used", "revoked", "expires_at", "created_by")
    list_filter = ("used", "revoked")
    search_fields = ("id", "tenant_id", "description")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.bootstrap_tokens_for_platform()


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "state", "agent_id", "operation_id", "requested_by", "created_at", "finished_at")
    list_filter = ("state", "type")
    search_fields = ("id", "agent_id", "operation_id", "key", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.actions_for_platform()
