"""Notifications' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import DETAIL, collection
from controlplane.notifications.api.views import ChannelViewSet, DeliveryViewSet

workspace_urlpatterns = [
    path("notification-channels/", collection(ChannelViewSet), name="notification-channel-list"),
    path("notification-channels/<str:pk>/", collection(ChannelViewSet, DETAIL), name="notification-channel-detail"),
    path(
        "notification-channels/<str:pk>/disable/",
        ChannelViewSet.as_view({"post": "disable"}),
        name="notification-channel-disable",
    ),
    path(
        "notification-channels/<str:pk>/enable/",
        ChannelViewSet.as_view({"post": "enable"}),
        name="notification-channel-enable",
    ),
    path(
        "notification-channels/<str:pk>/test/",
        ChannelViewSet.as_view({"post": "test"}),
        name="notification-channel-test",
    ),
    path("notification-deliveries/", DeliveryViewSet.as_view({"get": "list"}), name="notification-delivery-list"),
    path(
        "notification-deliveries/<str:pk>/",
        DeliveryViewSet.as_view({"get": "retrieve"}),
        name="notification-delivery-detail",
    ),
    path(
        "notification-deliveries/<str:pk>/redeliver/",
        DeliveryViewSet.as_view({"post": "redeliver"}),
        name="notification-delivery-redeliver",
    ),
]
