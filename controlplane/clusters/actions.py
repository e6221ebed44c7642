"""The only writers of clusters. Callers authorize first (cluster.create / cluster.update / cluster.delete)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from controlplane.clusters.domain import aggregate
from controlplane.clusters.domain.aggregate import ClusterState
from controlplane.clusters.models import Cluster
from controlplane.clusters.probe import probe
from controlplane.eventlog.aggregates import AggregateSpec, execute
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.tenancy.actions import check_quota

CLUSTER = AggregateSpec[ClusterState](
    name="clusters.cluster",
    initial=ClusterState,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)
CONNECTION_FIELDS = ("endpoints", "context_path", "auth_secret")


def cluster_stream(cluster_id: str) -> StreamRef:
    return StreamRef(type="clusters.cluster", id=f"cluster-{cluster_id}")


def do_register_cluster(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    name: str,
    form: str,
    mode: str,
    endpoints: list[str],
    context_path: str = "",
    auth_secret: str = "",
    labels: dict[str, str] | None = None,
) -> str:
    """Register a cluster after a connection test (its overview answers; its version is read). Returns its id."""
    aggregate.check_name(name)
    endpoints = aggregate.check_endpoints(endpoints)
    aggregate.check_auth_secret(auth_secret)
    check_quota(tenant_id, "clusters", Cluster.unscoped.filter(tenant_id=tenant_id, removed=False).count())
    overview = probe(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        endpoints=endpoints,
        context_path=context_path,
        auth_secret=auth_secret,
    )
    cluster_id = uuid.uuid4().hex
    execute(
        CLUSTER,
        cluster_stream(cluster_id),
        lambda state: aggregate.register(
            state,
            cluster_id=cluster_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=name,
            form=form,
            mode=mode,
            engine_version=overview.version,
            endpoints=endpoints,
            context_path=context_path,
            auth_secret=auth_secret,
            labels=labels or {},
        ),
        replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id),
    )
    return cluster_id


def do_update_cluster(
    *, metadata: Metadata, cluster: Cluster, changes: dict[str, Any], expected_version: int | None = None
) -> None:
    """Change name, endpoints, context path, auth secret or labels; new connection settings are tested first."""
    if any(key in changes for key in CONNECTION_FIELDS):
        merged = {key: changes.get(key, getattr(cluster, key)) for key in CONNECTION_FIELDS}
        merged["endpoints"] = aggregate.check_endpoints(merged["endpoints"])
        overview = probe(tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, **merged)
        changes = {**changes, "engine_version": overview.version}
    execute(
        CLUSTER,
        cluster_stream(cluster.id),
        lambda state: aggregate.update(state, cluster_id=cluster.id, changes=changes),
        replace(metadata, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id),
        expected_version=expected_version,
    )


def do_remove_cluster(*, metadata: Metadata, cluster: Cluster, expected_version: int | None = None) -> None:
    execute(
        CLUSTER,
        cluster_stream(cluster.id),
        lambda state: aggregate.remove(state, cluster_id=cluster.id),
        replace(metadata, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id),
        expected_version=expected_version,
    )
