"""The Celery application: settings come from Django's (CELERY_* names); tasks are discovered per app."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

app = Celery("controlplane")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _serve_worker_metrics(**_: object) -> None:
    """CONTROLPLANE_WORKER_METRICS_PORT: the worker's own /metrics, in its main process (docs/METRICS.md)."""
    from controlplane.metrics.worker_exporter import serve_if_configured

    serve_if_configured()
