"""Readers of clusters. A reader given a tenant (and workspace) reads through the tenant-scoped manager with that
tenant bound, so it can never see another tenant's rows; only the ``*_for_system`` / ``*_for_platform`` readers
cross tenants (ADR 0018)."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.clusters.models import Cluster, Health, Node
from controlplane.errors import DomainError
from controlplane.tenancy.context import bound


def live_cluster(tenant_id: str, workspace_id: str, cluster_id: str) -> Cluster:
    """The workspace's cluster with this id, unless removed; CLUSTER_NOT_FOUND otherwise."""
    with bound(tenant_id, workspace_id):
        cluster = Cluster.objects.filter(id=cluster_id, removed=False).first()
    if cluster is None:
        raise DomainError("no such cluster in this workspace", code="CLUSTER_NOT_FOUND", field="cluster_id")
    return cluster


def matching_clusters(tenant_id: str, workspace_id: str, selector: dict[str, str]) -> list[Cluster]:
    """Live clusters of the workspace that carry every label of ``selector``, by name."""
    with bound(tenant_id, workspace_id):
        rows = list(Cluster.objects.filter(removed=False).order_by("name"))
    return [c for c in rows if all(c.labels.get(key) == value for key, value in selector.items())]


def live_cluster_count(tenant_id: str) -> int:
    """Clusters the tenant has registered and not removed, in every workspace (the ``clusters`` quota)."""
    with bound(tenant_id):
        return Cluster.objects.filter(removed=False).count()


def health_get(tenant_id: str, workspace_id: str, cluster_id: str) -> Health | None:
    """The cluster's latest observation; None when it was never polled."""
    with bound(tenant_id, workspace_id):
        return Health.objects.filter(cluster_id=cluster_id).first()


def cluster_list() -> QuerySet[Cluster]:
    """The live clusters of the bound tenant and workspace, by name (the console's pages)."""
    return Cluster.objects.filter(removed=False).order_by("name")


def node_list(cluster_ids: list[str]) -> QuerySet[Node]:
    """The nodes of these clusters as the log knows them, by address (bound tenant)."""
    return Node.objects.filter(cluster_id__in=cluster_ids).order_by("cluster_id", "address")


def health_of(cluster_ids: list[str]) -> dict[str, Health]:
    """The latest observation of each cluster, in one query (bound tenant)."""
    return {h.cluster_id: h for h in Health.objects.filter(cluster_id__in=cluster_ids)}


# -- crossing tenants --------------------------------------------------------------------------------------
def live_cluster_ids_for_system() -> list[str]:
    """Every live cluster of every tenant, by id: what the health poll visits."""
    return list(Cluster.unscoped.filter(removed=False).order_by("id").values_list("id", flat=True))


def live_cluster_for_system(cluster_id: str) -> Cluster | None:
    """The cluster with this id in whichever tenant, unless removed (a task serving it binds its tenant next)."""
    return Cluster.unscoped.filter(id=cluster_id, removed=False).first()


def live_cluster_named_for_system(workspace_id: str, name: str) -> Cluster | None:
    """The live cluster of that name in a workspace (the demo seeding finds its own cluster by name)."""
    return Cluster.unscoped.filter(workspace_id=workspace_id, name=name, removed=False).first()


def clusters_for_platform() -> QuerySet[Cluster]:
    """Every cluster of every tenant, removed ones too: the platform console's list."""
    return Cluster.unscoped.all()


def nodes_for_platform() -> QuerySet[Node]:
    return Node.unscoped.all()


def health_for_platform() -> QuerySet[Health]:
    return Health.unscoped.all()
