"""Agents' operator routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/`` (the agents' own API,
``/agent/v1/``, is ``agent_api.py``)."""

from __future__ import annotations

from django.urls import path

from controlplane.agents.api.views import ActionViewSet, AgentViewSet, BootstrapTokenViewSet
from controlplane.api.routes import collection

workspace_urlpatterns = [
    path("agent-bootstrap-tokens/", collection(BootstrapTokenViewSet), name="agent-token-list"),
    path(
        "agent-bootstrap-tokens/<str:pk>/revoke/",
        BootstrapTokenViewSet.as_view({"post": "revoke"}),
        name="agent-token-revoke",
    ),
    path("agents/", collection(AgentViewSet), name="agent-list"),
    path("agents/<str:pk>/", AgentViewSet.as_view({"get": "retrieve"}), name="agent-detail"),
    path("agents/<str:pk>/revoke/", AgentViewSet.as_view({"post": "revoke"}), name="agent-revoke"),
    path(
        "agents/<str:pk>/actions/",
        AgentViewSet.as_view({"get": "actions", "post": "request_action"}),
        name="agent-actions",
    ),
    path("agent-actions/", collection(ActionViewSet), name="agent-action-list"),
    path("agent-actions/<str:pk>/", ActionViewSet.as_view({"get": "retrieve"}), name="agent-action-detail"),
    path("agent-actions/<str:pk>/cancel/", ActionViewSet.as_view({"post": "cancel"}), name="agent-action-cancel"),
]
