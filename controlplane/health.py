"""/healthz (the process answers) and /readyz (database, migrations and broker are usable)."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse


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


def _broker() -> str | None:
    from controlplane.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}: {exc}"
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
    return JsonResponse(body, status=200 if not failed else 503)
