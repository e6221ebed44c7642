"""Celery entry points of diagnostics: the retention of archives (beat, CONTROLPLANE_DIAGNOSTIC_*)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from controlplane.diagnostics import actions


@shared_task(name="diagnostics.expire_archives", acks_late=True, ignore_result=True)
def expire_archives() -> int:
    """Delete the archives past their retention, each recorded (``diagnostics.archive_expired``)."""
    return actions.expire_archives(timezone.now())
