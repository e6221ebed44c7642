"""Celery entry points of clusters."""

from __future__ import annotations

from celery import shared_task

from controlplane.clusters import health


@shared_task(name="clusters.poll_health", acks_late=True, ignore_result=True)
def poll_health() -> dict[str, int]:
    """Poll every live cluster once (beat runs this every CONTROLPLANE_HEALTH_INTERVAL_SECONDS)."""
    return health.poll_all()
