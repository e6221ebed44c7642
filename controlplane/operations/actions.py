"""The only writers of operations from a person's request: plan (dry run), request, cancel. Callers authorize
first (operation.run / operation.cancel). The engine (``engine.py``) records the steps' outcomes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from django.db import transaction

from controlplane.clusters.models import Cluster
from controlplane.eventlog.aggregates import AggregateSpec, execute, execute_retrying, load
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.operations import lease as leases
from controlplane.operations import plans
from controlplane.operations.domain import aggregate
from controlplane.operations.domain.aggregate import Operation as OperationFacts
from controlplane.operations.models import Operation

OPERATION = AggregateSpec[OperationFacts](
    name="operations.operation",
    initial=OperationFacts,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)


def operation_stream(operation_id: str) -> StreamRef:
    return StreamRef(type="operations.operation", id=f"operation-{operation_id}")


def load_operation(operation_id: str) -> tuple[OperationFacts, int]:
    return load(OPERATION, operation_stream(operation_id).id)


def plan_operation(*, cluster: Cluster, type: str, params: dict[str, Any]) -> plans.Planned:
    """The dry run: the plan a request would get now, with nothing written and nothing run."""
    return plans.plan(type, cluster, params)


def do_request_operation(*, metadata: Metadata, cluster: Cluster, type: str, params: dict[str, Any]) -> str:
    """Plan and record a new operation; a worker starts it after commit. Returns the operation id."""
    from controlplane.operations.runner import enqueue

    planned = plans.plan(type, cluster, params)
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
    """Record the cancel; the engine sees it between steps (and forwards it to running agent actions)."""
    from controlplane.operations.runner import enqueue

    meta = replace(metadata, tenant_id=operation.tenant_id, workspace_id=operation.workspace_id)

    def decide(state: OperationFacts) -> list[object]:
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
