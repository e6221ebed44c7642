"""/healthz (the process answers) and /readyz (database, migrations and broker are usable)."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from controlplane import filesystem_broker


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str | None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"; the reason is reported
        return f"database unreachable: {type(exc).__name__}: {exc}"
    return None


def _migrations() -> str | None:
    try:
        executor = MigrationExecutor(connections["default"])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"migrations cannot be read: {type(exc).__name__}: {exc}"
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return f"{len(plan)} migration(s) not applied: {names}"
    return None


# A probe must answer within the prober's timeout (kubelet: 1 s by default), so the broker gets one attempt
# with short socket timeouts and no retry back-off (kombu's default sleeps 2 s before retrying).
BROKER_TIMEOUT_SECONDS = 1.0


def _broker() -> str | None:
    from controlplane.celery import app

    if not settings.REDIS_URL:
        return _filesystem_broker()
    fast = {"socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    try:
        with app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=fast) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
            conn.default_channel.client.ping()
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}: {exc}"
    return None


def _filesystem_broker() -> str | None:
    """The embedded broker is a set of directories: they must exist and be writable by this process."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in filesystem_broker.FOLDER_OPTIONS:
        folder = options.get(key)
        if folder and not os.access(folder, os.W_OK | os.X_OK):
            return f"broker unreachable: {key} {folder} is missing or not writable"
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database()}
    checks["migrations"] = _migrations() if checks["database"] is None else "skipped: no database"
    checks["broker"] = _broker()
    failed = {name: reason for name, reason in checks.items() if reason}
    body = {
        "status": "ready" if not failed else "not ready",
        "checks": {name: reason or "ok" for name, reason in checks.items()},
        "database": settings.DATABASE_VENDOR,
        "broker": "redis" if settings.REDIS_URL else "filesystem",
    }
    if not settings.REDIS_URL:
        # Message files the worker could not decode (docs/OPERATIONS.md, "Dead letters of the embedded broker"):
        # the broker still works, so they do not make the process unready; they are shown to whoever watches.
        body["dead_letters"] = len(filesystem_broker.dead_letters(settings.CELERY_BROKER_TRANSPORT_OPTIONS))
    return JsonResponse(body, status=200 if not failed else 503)


class HealthProbeMiddleware:
    """Answer /healthz and /readyz before host validation and the TLS redirect.

    Kubelets and load balancers probe by address (``Host: 10.0.3.7:8000``) over plain HTTP; neither is in
    ALLOWED_HOSTS nor HTTPS, and a probe must not fail for that. The answers reveal nothing but readiness (and,
    on the embedded broker, how many dead letters wait: a count, no content).
    """

    PROBES = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        probe = self.PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
