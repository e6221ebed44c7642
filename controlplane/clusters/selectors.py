"""Readers of clusters for other apps."""

from __future__ import annotations

from controlplane.clusters.models import Cluster
from controlplane.errors import DomainError


def live_cluster(tenant_id: str, workspace_id: str, cluster_id: str) -> Cluster:
    """The workspace's cluster with this id, unless removed; CLUSTER_NOT_FOUND otherwise."""
    cluster = Cluster.unscoped.filter(
        id=cluster_id, tenant_id=tenant_id, workspace_id=workspace_id, removed=False
    ).first()
    if cluster is None:
        raise DomainError("no such cluster in this workspace", code="CLUSTER_NOT_FOUND", field="cluster_id")
    return cluster


def matching_clusters(tenant_id: str, workspace_id: str, selector: dict[str, str]) -> list[Cluster]:
    """Live clusters of the workspace that carry every label of ``selector``, by name."""
    rows = Cluster.unscoped.filter(tenant_id=tenant_id, workspace_id=workspace_id, removed=False).order_by("name")
    return [c for c in rows if all(c.labels.get(key) == value for key, value in selector.items())]
