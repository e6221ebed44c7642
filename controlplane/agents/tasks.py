"""Celery entry points of agents."""

from __future__ import annotations

from celery import shared_task

from controlplane.agents import actions


@shared_task(name="agents.check_liveness", acks_late=True, ignore_result=True)
def check_liveness() -> dict[str, int]:
    """Silent agents become stale or lost; actions past their expiry become EXPIRED (beat, every interval)."""
    counts = actions.check_liveness()
    counts["expired"] = actions.expire_actions()
    return counts
