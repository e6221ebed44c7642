"""``/ws/v1/…``: the websocket endpoints (docs/LIVE.md)."""

from __future__ import annotations

from django.urls import path, re_path

from controlplane.live.consumers import ActivityConsumer, NoSuchEndpoint, OperationConsumer, RunConsumer

websocket_urlpatterns = [
    path("ws/v1/runs/<str:run_id>/", RunConsumer.as_asgi()),
    path("ws/v1/operations/<str:operation_id>/", OperationConsumer.as_asgi()),
    path("ws/v1/tenants/<slug:tenant>/activity/", ActivityConsumer.as_asgi()),
    re_path(r"", NoSuchEndpoint.as_asgi()),
]
