"""``GET /metrics``: the Prometheus text format of this host's processes plus the gauges computed at scrape.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the launcher sets it for web, worker and beat alike: ADR 0028) the counters
and histograms are summed over the files every process of the host writes there; without it (one process, the
tests) they are this process's own, with prometheus-client's process and Python collectors.
When ``CONTROLPLANE_METRICS_TOKEN`` is set, a scrape must carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from controlplane.instruments import multiprocess_dir
from controlplane.metrics.collectors import StateCollector


class _ThisProcess(Collector):
    """The default registry (this process's counters, process_* and python_* metrics), for single-process mode."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: never registered globally, so nothing is collected twice."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return registry


def bearer_ok(request: HttpRequest, token: str | None) -> bool:
    """No token configured: open. Otherwise the header must carry exactly it (compared in constant time)."""
    if not token:
        return True
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def unauthorized() -> HttpResponse:
    response = HttpResponse("unauthorized\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def metrics(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not bearer_ok(request, settings.METRICS_TOKEN):
        return unauthorized()
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
