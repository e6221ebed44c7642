"""Celery entry points of notifications: ids only, idempotent (a delivery row is taken by one worker at a time)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from controlplane.notifications import runner
from controlplane.notifications.selectors import due_deliveries_for_system


@shared_task(name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: str) -> str:
    """One attempt of a delivery (queued after the commit that created or re-queued it)."""
    return str(runner.deliver(delivery_id))


@shared_task(name="notifications.requeue_due", acks_late=True, ignore_result=True)
def requeue_due() -> int:
    """Hand due retries, and sends whose worker went quiet, to workers again (beat, every
    CONTROLPLANE_NOTIFY_REQUEUE_INTERVAL_SECONDS)."""
    now = timezone.now()
    ids = due_deliveries_for_system(now=now, stale_before=now - runner.sending_lease())
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


@shared_task(name="notifications.purge_deliveries", acks_late=True, ignore_result=True)
def purge_deliveries() -> int:
    """Delete finished deliveries past CONTROLPLANE_NOTIFY_RETENTION_DAYS (beat, hourly)."""
    return runner.purge_finished()
