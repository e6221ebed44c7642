"""Alerts' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.alerts.api.views import AlertRuleViewSet, AlertViewSet, SilenceViewSet
from controlplane.api.routes import DETAIL, collection

workspace_urlpatterns = [
    path("alert-rules/", collection(AlertRuleViewSet), name="alert-rule-list"),
    path("alert-rules/<str:pk>/", collection(AlertRuleViewSet, DETAIL), name="alert-rule-detail"),
    path("alerts/", AlertViewSet.as_view({"get": "list"}), name="alert-list"),
    path(
        "alerts/receiver/alertmanager/",
        AlertViewSet.as_view({"post": "receive"}),
        name="alert-receiver",
    ),
    path("alerts/<str:pk>/", AlertViewSet.as_view({"get": "retrieve"}), name="alert-detail"),
    path("alerts/<str:pk>/acknowledge/", AlertViewSet.as_view({"post": "acknowledge"}), name="alert-acknowledge"),
    path("silences/", collection(SilenceViewSet), name="silence-list"),
    path("silences/<str:pk>/", SilenceViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="silence-detail"),
    path("silences/<str:pk>/end/", SilenceViewSet.as_view({"post": "end"}), name="silence-end"),
]
