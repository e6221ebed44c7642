"""ASGI entry point for daphne: HTTP through Django, websockets through Channels (added by later apps)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

from controlplane.config import ConfigError

try:
    from channels.routing import ProtocolTypeRouter
    from django.core.asgi import get_asgi_application

    django_asgi = get_asgi_application()

    from controlplane.agents.longpoll import with_agent_paths  # after Django is set up
except ConfigError as exc:
    print(f"configuration error: {exc}", file=sys.stderr)
    sys.exit(2)

# The agents' long poll is answered in front of Django's synchronous middleware (docs/adr: agent long poll).
application = ProtocolTypeRouter({"http": with_agent_paths(django_asgi)})
