"""ASGI entry point for daphne: HTTP through Django, websockets (``/ws/v1/…``, docs/LIVE.md) through Channels."""

from __future__ import annotations

import gc
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

from controlplane.config import ConfigError

try:
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.core.asgi import get_asgi_application

    django_asgi = get_asgi_application()  # sets Django up: the routes below import models

    from controlplane.agents.longpoll import with_agent_paths
    from controlplane.live.routing import websocket_urlpatterns
except ConfigError as exc:
    print(f"configuration error: {exc}", file=sys.stderr)
    sys.exit(2)

# The session (console) is resolved for every websocket; live/admission.py honours it only from the site's own
# origin, and prefers a bearer token when one is offered.
application = ProtocolTypeRouter(
    {"http": with_agent_paths(django_asgi), "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns))}
)

# What start-up built (Django, the apps, URL resolvers: most of the heap) lives as long as the process. Freezing
# it keeps the cyclic collector's full passes to what requests create: with thousands of agents' long polls
# open, full passes over the whole heap stalled every request for hundreds of ms (ADR 0011).
gc.collect()
gc.freeze()
