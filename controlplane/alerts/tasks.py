"""Celery entry points of alerts."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from controlplane.alerts import evaluate as evaluator


@shared_task(name="alerts.evaluate", acks_late=True, ignore_result=True)
def evaluate() -> dict[str, int]:
    """The time rules, silence expiry, resolve timeouts, muting and reminders (beat: every
    CONTROLPLANE_ALERT_EVAL_INTERVAL_SECONDS)."""
    return evaluator.evaluate(timezone.now())
