"""Celery entry points of the event log."""

from __future__ import annotations

from celery import shared_task

from controlplane.eventlog import projectors


@shared_task(name="eventlog.run_subscriptions", acks_late=True, ignore_result=True)
def run_subscriptions() -> dict[str, int]:
    """Advance every asynchronous subscriber until it is idle (beat runs this on an interval)."""
    return {sub.name: sub.run_until_idle() for sub in projectors.subscriptions()}
