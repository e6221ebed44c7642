"""Readers of operations for views (tenant-scoped through the bound tenant context)."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.operations.models import Operation, OperationStep


def operation_list(*, filters: dict[str, str] | None = None) -> QuerySet[Operation]:
    rows = Operation.objects.all()
    for key in ("state", "type", "cluster_id"):
        value = (filters or {}).get(key)
        if value:
            rows = rows.filter(**{key: value})
    return rows


def operation_steps(operation: Operation) -> QuerySet[OperationStep]:
    return OperationStep.objects.filter(operation_id=operation.id).order_by("index")
