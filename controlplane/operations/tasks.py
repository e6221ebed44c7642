"""Celery entry points of operations: ids only, acks_late, reject on worker loss, queued after commit."""

from __future__ import annotations

from celery import shared_task

from controlplane.operations import runner


@shared_task(
    name="operations.advance_operation",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=300,  # the defaults; each call is queued with the limits of the step it will run
    time_limit=330,
)
def advance_operation(operation_id: str) -> str:
    """Advance one operation by one step under its lease (a duplicate delivery finds the lease held)."""
    return runner.advance(operation_id)


@shared_task(name="operations.recover", acks_late=True, ignore_result=True)
def recover() -> int:
    """Re-queue operations whose lease expired (a worker died) or whose queued task was lost."""
    return len(runner.recover())
