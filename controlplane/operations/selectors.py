"""Readers of operations. ``operation_list`` and ``operation_steps`` serve views (scoped to the bound tenant);
the ``*_for_system`` ones serve the runner and the steps, which act for whichever tenant an operation belongs to
(the operation id is what they are given); the ``*_for_platform`` ones serve the console (platform staff)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from controlplane.eventlog.aggregates import load
from controlplane.operations.models import Operation, OperationStep

if TYPE_CHECKING:
    from controlplane.clusters.models import Cluster, Health, Node
    from controlplane.operations.domain.aggregate import OperationAggregate


def operation_list() -> QuerySet[Operation]:
    """Operations of the bound tenant and workspace; the API narrows them with ``api/filters.py``."""
    return Operation.objects.all()


def operation_steps(operation: Operation) -> QuerySet[OperationStep]:
    return OperationStep.objects.filter(operation_id=operation.id).order_by("index")


# -- system work: the runner and the steps -------------------------------------------------------------------
def operation_for_system(operation_id: str) -> OperationAggregate:
    """The operation's aggregate state from its stream (its tenant, plan, steps and journals); ``exists`` is False
    for an unknown id."""
    from controlplane.operations.actions import OPERATION, operation_stream

    state, _ = load(OPERATION, operation_stream(operation_id).id)
    return state


def operation_row_for_system(operation_id: str) -> Operation | None:
    """The operation's read model, whatever its tenant (the demo seeding waits on it; a live feed checks who
    may follow it); None if unknown."""
    return Operation.unscoped.filter(id=operation_id).first()


def cluster_has_operations_for_system(cluster_id: str) -> bool:
    return Operation.unscoped.filter(cluster_id=cluster_id).exists()


def cluster_for_system(tenant_id: str, cluster_id: str) -> Cluster | None:
    """The operation's cluster unless it was removed."""
    from controlplane.clusters.models import Cluster

    return Cluster.unscoped.filter(tenant_id=tenant_id, id=cluster_id, removed=False).first()


def cluster_health_for_system(cluster: Cluster) -> Health | None:
    from controlplane.clusters.models import Health

    return Health.unscoped.filter(tenant_id=cluster.tenant_id, cluster_id=cluster.id).first()


def node_for_system(cluster: Cluster, address: str) -> Node | None:
    from controlplane.clusters.models import Node

    return Node.unscoped.filter(tenant_id=cluster.tenant_id, cluster_id=cluster.id, address=address).first()


# -- the console ------------------------------------------------------------------------------------------------
def operations_for_platform() -> QuerySet[Operation]:
    return Operation.unscoped.all()


def operation_steps_for_platform() -> QuerySet[OperationStep]:
    return OperationStep.unscoped.all()


def cluster_nodes_for_system(cluster: Cluster) -> list[Node]:
    """The cluster's nodes as the log knows them (with the facts an install recorded), by address."""
    from controlplane.clusters.models import Node

    return list(Node.unscoped.filter(tenant_id=cluster.tenant_id, cluster_id=cluster.id).order_by("address"))
