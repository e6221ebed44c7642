"""Times in the console are shown in the user's time zone: the browser's, which ``console.js`` stores in the
``console_tz`` cookie (an IANA name). Anything else keeps the server's (UTC)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "console_tz"


class BrowserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.COOKIES.get(COOKIE, "")
        zone = None
        if name and len(name) < 64 and request.path_info.startswith("/admin/"):
            try:
                zone = zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = None  # a made-up name: the server's zone
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
