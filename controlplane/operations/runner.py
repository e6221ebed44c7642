"""The runner: advance one operation by one step under its lease (the body of ``operations.advance_operation``).

Each call takes the lease or returns at once (another worker has it: a duplicate delivery changes nothing), asks
the aggregate what to do next, records a new attempt *before* running its side effect, runs one handler call with
the lease renewed in the background, records the outcome in a transaction that re-checks the lease, gives the lease
up and queues the next call after commit (at once, or after a countdown for a step that waits or a retry's
backoff). A worker killed mid-step leaves its lease to expire; ``recover`` (beat) re-queues the operation, and the
next worker resumes the same attempt under the same key (docs/LONG_OPERATIONS.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.operations import actions, steps
from controlplane.operations import lease as leases
from controlplane.operations.domain.aggregate import Move, OperationAggregate, StaleAttempt, next_move
from controlplane.operations.domain.plan import StepSpec
from controlplane.operations.domain.states import OperationTransitionIllegal
from controlplane.operations.models import OperationLease
from controlplane.operations.selectors import operation_for_system

log = logging.getLogger(__name__)

MAX_RESUMES = 3  # takeovers of one attempt before it fails with STEP_WORKER_LOST
MAX_BACKOFF_SECONDS = 300
HARD_LIMIT_GRACE = 30  # seconds between a step's soft time limit (an exception in the step) and the hard kill
_BOOKKEEPING = 20  # moves without a handler call (start, record a new attempt, settle) in one task, at most
# Errors that say "try again later" rather than "this cannot work".
TRANSIENT_CODES = frozenset({"ZETA_UNREACHABLE", "EVENTLOG_CONCURRENCY_CONFLICT", "RUN_BUSY", "AGENT_UNREACHABLE"})


def lease_seconds() -> float:
    return float(settings.OPERATION_LEASE_SECONDS)


def backoff(attempt: int) -> float:
    return min(float(settings.OPERATION_RETRY_BASE_SECONDS) * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)


def _metadata(op: OperationAggregate) -> Metadata:
    """The runner acts as the system in the operation's tenant; the operation id correlates what it writes."""
    system = Metadata.for_system(op.tenant_id, reason="operations.advance", workspace_id=op.workspace_id)
    return replace(system, request_id=op.operation_id[:64], correlation_id=op.operation_id[:64])


def _step_metadata(op: OperationAggregate) -> Metadata:
    """For the side effects a step asks of others (agent actions, run pauses): the system again (nobody's
    credential is at hand in a worker), naming in its reason who asked for the operation, so an action's
    record says on whose behalf it was asked."""
    system = Metadata.for_system(
        op.tenant_id, reason=f"operations.step:{op.requested_by}"[:150], workspace_id=op.workspace_id
    )
    return replace(system, request_id=op.operation_id[:64], correlation_id=op.operation_id[:64])


def limits(op: OperationAggregate) -> tuple[int, int]:
    """Celery's (soft, hard) time limits for the next call: those of the step it will run."""
    move = next_move(op, timezone.now())
    index = move.index if move.index >= 0 else 0
    seconds = op.plan[index].timeout_seconds if op.plan else 300
    return seconds, seconds + HARD_LIMIT_GRACE


def enqueue(op: OperationAggregate, *, countdown: float = 0.0) -> None:
    """Queue the next advance after the current transaction commits (at once outside one). A failed publish is
    logged, not raised: the lease row's wake-up time lets ``recover`` queue it again."""
    from controlplane.operations.tasks import advance_operation

    if op.terminal:
        return
    soft, hard = limits(op)
    operation_id = op.operation_id

    def send() -> None:
        advance_operation.apply_async(
            (operation_id,), countdown=max(countdown, 0.0), soft_time_limit=soft, time_limit=hard
        )

    transaction.on_commit(send, robust=True)


# -- progress from inside a handler ----------------------------------------------------------------------------
def _progress_recorder(lease: leases.Lease, op: OperationAggregate, key: str, attempt: int) -> Callable[..., None]:
    def record(message: str = "", percent: int | None = None, detail: dict | None = None) -> None:
        actions.do_record_step_progress(
            metadata=_metadata(op),
            lease=lease,
            operation=op,
            key=key,
            attempt=attempt,
            message=message,
            percent=percent,
            detail=detail,
        )

    return record


# -- one call ----------------------------------------------------------------------------------------------
def advance(operation_id: str) -> str:
    """Advance the operation by at most one handler call. Returns what happened (for logs and tests)."""
    lease = leases.acquire(operation_id, seconds=lease_seconds())
    if lease is None:
        return "busy"
    try:
        return _advance(lease)
    except BaseException:
        # an unexpected error (a bug, the database going away): free the lease and let recovery retry later
        try:
            leases.release(lease, wake_at=timezone.now() + timedelta(seconds=lease_seconds()))
        except Exception:  # the database is gone too: the lease expires on its own
            log.exception("could not release the lease of operation %s", operation_id)
        raise


def _advance(lease: leases.Lease) -> str:
    takeover = lease.takeover
    op: OperationAggregate | None = None
    for _ in range(_BOOKKEEPING):
        if op is None:
            op = operation_for_system(lease.operation_id)
        now = timezone.now()
        move = next_move(op, now)
        try:
            if move.kind == "done":
                leases.finish(lease)
                return str(op.state) if op.exists else "missing"
            if move.kind == "start":
                # the state after the append: no reload needed
                op = actions.do_start_operation(metadata=_metadata(op), lease=lease, operation=op)
                continue
            if move.kind == "settle":
                op = actions.do_settle_operation(metadata=_metadata(op), lease=lease, operation=op)
                continue
            if move.kind == "wait":
                return _later(lease, op, move.not_before or now)
            spec = op.plan[move.index]
            compensating = move.kind == "compensate"
            if move.new:
                op = actions.do_start_step(
                    metadata=_metadata(op),
                    lease=lease,
                    operation=op,
                    key=spec.key,
                    attempt=move.attempt,
                    compensating=compensating,
                )
                takeover = False
                continue
            if takeover and not compensating:
                takeover = False
                op = actions.do_resume_step(
                    metadata=_metadata(op),
                    lease=lease,
                    operation=op,
                    key=spec.key,
                    attempt=move.attempt,
                    max_resumes=MAX_RESUMES,
                    now=timezone.now(),
                    retry_in=backoff(move.attempt),
                )
                continue
            return _run(lease, op, spec, move, compensating)
        except (OperationTransitionIllegal, StaleAttempt) as error:
            # the operation moved under us (a cancel came in): look again
            log.info("operation %s moved while advancing: %s", lease.operation_id, error)
            op = None
            continue
        except leases.LeaseLost:
            return "lease_lost"
    return _later(lease, operation_for_system(lease.operation_id), timezone.now())


def _later(lease: leases.Lease, op: OperationAggregate, when: datetime) -> str:
    leases.release(lease, wake_at=when)
    enqueue(op, countdown=(when - timezone.now()).total_seconds())
    return "waiting"


def _run(lease: leases.Lease, op: OperationAggregate, spec: StepSpec, move: Move, compensating: bool) -> str:
    status = op.steps[move.index]
    attempt = move.attempt
    ctx = steps.StepContext(
        operation=op,
        spec=spec,
        status=status,
        attempt=attempt,
        compensating=compensating,
        metadata=_step_metadata(op),
        now=timezone.now(),
        record_progress=_progress_recorder(lease, op, spec.key, attempt),
    )
    error: steps.StepError | None = None
    try:
        handler = steps.handler_for(spec.compensation if compensating else spec.kind)  # type: ignore[arg-type]
        with leases.Renewer(lease):
            outcome = handler(ctx)
    except leases.LeaseLost:
        return "lease_lost"
    except steps.StepError as failure:
        error = failure
    except SoftTimeLimitExceeded:
        error = steps.StepError(
            f"the step ran past its {spec.timeout_seconds} s limit", code="STEP_TIMED_OUT", transient=True
        )
    except DomainError as failure:
        error = steps.StepError(failure.message, code=failure.code, transient=failure.code in TRANSIENT_CODES)
    if lease.lost.is_set():
        return "lease_lost"  # the renewal found another owner: record nothing, the successor redoes this attempt
    now = timezone.now()
    try:
        if error is not None:
            log.info("operation %s step %s attempt %s: %s", op.operation_id, spec.key, attempt, error)
            after = actions.do_fail_step(
                metadata=_metadata(op),
                lease=lease,
                operation=op,
                key=spec.key,
                attempt=attempt,
                compensating=compensating,
                error_code=error.code,
                error=error.message,
                transient=error.transient,
                now=now,
                retry_in=backoff(attempt),
                result=error.result,
            )
        elif isinstance(outcome, steps.Wait):
            return _later(lease, op, now + timedelta(seconds=max(outcome.seconds, 0.0)))
        else:
            after = actions.do_complete_step(
                metadata=_metadata(op),
                lease=lease,
                operation=op,
                key=spec.key,
                attempt=attempt,
                compensating=compensating,
                result=outcome.result,
            )
    except (OperationTransitionIllegal, StaleAttempt) as stale:
        log.info("operation %s: outcome of %s not recorded: %s", op.operation_id, spec.key, stale)
        after = operation_for_system(op.operation_id)
    except leases.LeaseLost:
        return "lease_lost"
    if after.terminal:
        leases.finish(lease)
        return str(after.state)
    leases.release(lease, wake_at=now)
    enqueue(after)
    return "advanced"


def recover() -> list[str]:
    """Re-queue operations whose lease expired or whose wake-up passed unserved (beat runs this)."""
    grace = max(lease_seconds(), float(settings.OPERATION_RECOVER_INTERVAL_SECONDS))
    found = leases.due(grace=grace)
    for operation_id in found:
        op = operation_for_system(operation_id)
        if op.terminal or not op.exists:
            # finished while nobody held the lease (a cancel before the first step): nothing to queue
            OperationLease.objects.filter(operation_id=operation_id, owner="").update(active=False, wake_at=None)
            continue
        log.info("re-queueing operation %s (lease expired or wake-up missed)", operation_id)
        enqueue(op)
    return found
