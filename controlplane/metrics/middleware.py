"""Request metrics for every HTTP request, and ``/metrics`` answered before host validation and the TLS redirect.

First in ``MIDDLEWARE``: it times everything after it, the health probes included. The ``route`` label is the URL
pattern that matched (``api/v1/tenants/<slug:tenant>/…``), never the path; ``unmatched`` when none did. Like
``/healthz``, ``/metrics`` is answered here because Prometheus scrapes by address (``Host: 10.0.3.7:8000``), which
is not in ALLOWED_HOSTS; the bearer token guards it instead (docs/METRICS.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from controlplane import instruments
from controlplane.metrics import exposition, targets

# Paths answered by a middleware before URL resolution: their own, fixed, label.
FIXED_ROUTES = {
    "/healthz": "healthz",
    "/readyz": "readyz",
    "/metrics": "metrics",
    "/metrics/targets": "metrics-targets",
}


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route or "/"
    return FIXED_ROUTES.get(request.path_info, "unmatched")


class RequestMetricsMiddleware:
    ANSWERS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
        "/metrics": exposition.metrics,
        "/metrics/targets": targets.http_sd,
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        answer = self.ANSWERS.get(request.path_info)
        response = answer(request) if answer is not None else self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in instruments.HTTP_METHODS else "other"
        instruments.HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        instruments.HTTP_REQUEST_DURATION.labels(route, method).observe(time.perf_counter() - started)
        return response
