"""The only writers of operations. A person's request: plan (dry run), request, cancel (``operation.run`` /
``operation.cancel``). The runner (``runner.py``), as the system: the operation's start, each step's attempt,
progress and outcome, and its settling; each of those is fenced by the lease the runner holds."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import transaction

from controlplane.clusters.models import Cluster
from controlplane.eventlog.aggregates import AggregateSpec, execute, execute_retrying, load
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.operations import lease as leases
from controlplane.operations import plans
from controlplane.operations.domain import aggregate
from controlplane.operations.domain.aggregate import OperationAggregate
from controlplane.operations.models import Operation

OPERATION = AggregateSpec[OperationAggregate](
    name="operations.operation",
    initial=OperationAggregate,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)


def operation_stream(operation_id: str) -> StreamRef:
    return StreamRef(type="operations.operation", id=f"operation-{operation_id}")


def load_operation(operation_id: str) -> tuple[OperationAggregate, int]:
    return load(OPERATION, operation_stream(operation_id).id)


def plan_operation(*, cluster: Cluster, type: str, params: dict[str, Any]) -> plans.Planned:
    """The dry run: the plan a request would get now, with nothing written and nothing run."""
    return plans.plan(type, cluster, params)


def do_request_operation(
    *, metadata: Metadata, cluster: Cluster, type: str, params: dict[str, Any], plan_hash: str | None = None
) -> str:
    """Plan and record a new operation; a worker starts it after commit. Returns the operation id. ``plan_hash``
    (a dry run's): refused with OPERATION_PLAN_CHANGED when the plan is no longer the one that was shown."""
    from controlplane.operations.runner import enqueue

    authorize(
        metadata, plans.point_of(type), tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, obj=cluster
    )
    planned = plans.plan(type, cluster, params)
    if plan_hash is not None and plans.plan_hash(planned) != plan_hash:
        raise plans.PlanError(
            "the plan changed since it was shown (nodes, agents or the cluster); plan again",
            code="OPERATION_PLAN_CHANGED",
            plan_hash=plans.plan_hash(planned),
        )
    operation_id = uuid.uuid4().hex
    meta = replace(
        metadata,
        tenant_id=cluster.tenant_id,
        workspace_id=cluster.workspace_id,
        correlation_id=metadata.correlation_id or operation_id,
    )
    with transaction.atomic():
        execute(
            OPERATION,
            operation_stream(operation_id),
            lambda state: aggregate.request(
                state,
                operation_id=operation_id,
                tenant_id=cluster.tenant_id,
                workspace_id=cluster.workspace_id,
                cluster_id=cluster.id,
                type=type,
                params=planned.params,
                plan=planned.steps,
                notes=planned.notes,
                requested_by=f"{metadata.actor.kind}:{metadata.actor.id}",
            ),
            meta,
            expected_version=0,
        )
        leases.create(operation_id)
        state, _ = load_operation(operation_id)
        enqueue(state)
    return operation_id


def do_cancel_operation(
    *, metadata: Metadata, operation: Operation, reason: str = "", expected_version: int | None = None
) -> None:
    """Record the cancel; the runner sees it between steps (and forwards it to running agent actions)."""
    from controlplane.operations.runner import enqueue

    authorize(
        metadata, "operation.cancel", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id, obj=operation
    )
    meta = replace(metadata, tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)

    def decide(state: OperationAggregate) -> list[object]:
        return aggregate.request_cancel(
            state,
            reason=reason,
            requested_by=f"{metadata.actor.kind}:{metadata.actor.id}",
            summarize=plans.summarizer(state.type),
        )

    with transaction.atomic():
        if expected_version is not None:
            execute(OPERATION, operation_stream(operation.id), decide, meta, expected_version=expected_version)
        else:
            execute_retrying(OPERATION, operation_stream(operation.id), decide, meta)
        state, _ = load_operation(operation.id)
        enqueue(state)


# -- the runner's writers: each fenced by the lease ------------------------------------------------------------
Decide = Callable[[OperationAggregate], list[object]]


def _fenced(
    metadata: Metadata, lease: leases.Lease, operation: OperationAggregate, decide: Decide
) -> OperationAggregate:
    """Append in a transaction that first renews the lease: a worker whose lease was taken over records nothing
    (LeaseLost). Returns the state after the append."""
    if operation.operation_id != lease.operation_id:
        raise ValueError("the lease is not this operation's")
    with transaction.atomic():
        leases.fence(lease)
        state, _ = execute_retrying(OPERATION, operation_stream(lease.operation_id), decide, metadata)
    return state


def do_start_operation(*, metadata: Metadata, lease: leases.Lease, operation: OperationAggregate) -> OperationAggregate:
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    return _fenced(metadata, lease, operation, aggregate.start)


def do_settle_operation(
    *, metadata: Metadata, lease: leases.Lease, operation: OperationAggregate
) -> OperationAggregate:
    """The final events of an operation with nothing left to run."""
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    summarize = plans.summarizer(operation.type)
    return _fenced(metadata, lease, operation, lambda s: aggregate.settle(s, summarize))


def do_start_step(
    *,
    metadata: Metadata,
    lease: leases.Lease,
    operation: OperationAggregate,
    key: str,
    attempt: int,
    compensating: bool,
) -> OperationAggregate:
    """Record a new attempt of a step (or of its compensation) before its side effect runs."""
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    begin = aggregate.start_compensation if compensating else aggregate.start_step
    return _fenced(metadata, lease, operation, lambda s: begin(s, key=key, attempt=attempt))


def do_resume_step(
    *,
    metadata: Metadata,
    lease: leases.Lease,
    operation: OperationAggregate,
    key: str,
    attempt: int,
    max_resumes: int,
    now: datetime,
    retry_in: float,
) -> OperationAggregate:
    """A worker takes over a started attempt whose lease expired (too many takeovers fail it)."""
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    return _fenced(
        metadata,
        lease,
        operation,
        lambda s: aggregate.resume_step(
            s, key=key, attempt=attempt, max_resumes=max_resumes, now=now, retry_in=retry_in
        ),
    )


def do_record_step_progress(
    *,
    metadata: Metadata,
    lease: leases.Lease,
    operation: OperationAggregate,
    key: str,
    attempt: int,
    message: str = "",
    percent: int | None = None,
    detail: dict | None = None,
) -> OperationAggregate:
    """A note from inside an attempt; ``detail`` is the step's journal (what it did, for a resumed attempt)."""
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    return _fenced(
        metadata,
        lease,
        operation,
        lambda s: aggregate.progress_step(s, key=key, attempt=attempt, message=message, percent=percent, detail=detail),
    )


def do_complete_step(
    *,
    metadata: Metadata,
    lease: leases.Lease,
    operation: OperationAggregate,
    key: str,
    attempt: int,
    compensating: bool,
    result: dict,
) -> OperationAggregate:
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    summarize = plans.summarizer(operation.type)
    complete = aggregate.complete_compensation if compensating else aggregate.complete_step
    return _fenced(
        metadata,
        lease,
        operation,
        lambda s: complete(s, key=key, attempt=attempt, result=result, summarize=summarize),
    )


def do_fail_step(
    *,
    metadata: Metadata,
    lease: leases.Lease,
    operation: OperationAggregate,
    key: str,
    attempt: int,
    compensating: bool,
    error_code: str,
    error: str,
    transient: bool,
    now: datetime,
    retry_in: float,
    result: dict | None = None,
) -> OperationAggregate:
    """A failed attempt: retried after ``retry_in`` when transient and attempts remain, else final."""
    authorize(metadata, "operation.run", tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)
    summarize = plans.summarizer(operation.type)
    if compensating:
        decide: Decide = lambda s: aggregate.fail_compensation(  # noqa: E731
            s,
            key=key,
            attempt=attempt,
            error_code=error_code,
            error=error,
            transient=transient,
            now=now,
            retry_in=retry_in,
            summarize=summarize,
        )
    else:
        decide = lambda s: aggregate.fail_step(  # noqa: E731
            s,
            key=key,
            attempt=attempt,
            error_code=error_code,
            error=error,
            transient=transient,
            now=now,
            retry_in=retry_in,
            result=result,
            summarize=summarize,
        )
    return _fenced(metadata, lease, operation, decide)
