"""A Celery worker's own ``/metrics``, for workers that share no multiprocess directory with a web process.

Where web and workers run on one host (``make run``, systemd, compose with a shared volume) the web's ``/metrics``
already sums the workers' counters (ADR 0028). In a Kubernetes worker pod there is no web process: set
``CONTROLPLANE_WORKER_METRICS_PORT`` and the worker's main process serves the counters of the pod's processes
(its prefork children included, through the pod's own multiprocess directory) on that port, with the same bearer
token. The row counts computed at scrape are the web's alone, so they are not served here twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from controlplane.instruments import multiprocess_dir

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _registry() -> CollectorRegistry:
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=path)
    return registry


def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    """WSGI: ``GET /metrics`` with the bearer token when one is configured; anything else is 404 or 405."""
    from django.http import HttpRequest

    from controlplane.metrics.exposition import bearer_ok

    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
        return [b""]
    request = HttpRequest()
    request.META = {"HTTP_AUTHORIZATION": environ.get("HTTP_AUTHORIZATION", "")}
    if not bearer_ok(request, settings.METRICS_TOKEN):
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Bearer realm="metrics"')])
        return [b"unauthorized\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [generate_latest(_registry())]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every 15 s would bury the worker's log."""


def serve(port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104  (a pod's scrape port; the token guards it)
    """Serve in a daemon thread; returns the server (``server_address`` says the port, ``shutdown()`` stops it)."""
    server = make_server(host, port, application, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server


def serve_if_configured() -> WSGIServer | None:
    port = settings.WORKER_METRICS_PORT
    return serve(port) if port else None
