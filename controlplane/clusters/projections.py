"""ClustersProjector: the cluster and node read models from cluster streams."""

from __future__ import annotations

from controlplane.clusters.domain import events  # noqa: F401  (registers the event types)
from controlplane.clusters.domain.aggregate import LOST, ONLINE
from controlplane.clusters.models import Cluster, Node, node_id
from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent


class ClustersProjector(Projector):
    name = "clusters"
    read_models = (Node, Cluster)

    @handles("clusters.cluster_registered")
    def on_registered(self, event: RecordedEvent) -> None:
        d = event.data
        Cluster.unscoped.create(
            id=d.cluster_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            name=d.name,
            form=d.form,
            mode=d.mode,
            engine_version=d.engine_version,
            endpoints=d.endpoints,
            context_path=d.context_path,
            auth_secret=d.auth_secret,
            labels=d.labels,
            v1_endpoints=d.v1_endpoints,
            timeouts=d.timeouts,
            tls_ca_secret=d.tls_ca_secret,
            tls_cert_secret=d.tls_cert_secret,
            tls_key_secret=d.tls_key_secret,
            tls_verify=d.tls_verify,
            tls_verify_reason=d.tls_verify_reason,
            version=event.version,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )

    @handles("clusters.cluster_updated")
    def on_updated(self, event: RecordedEvent) -> None:
        Cluster.unscoped.filter(id=event.data.cluster_id).update(
            **event.data.changes, version=event.version, updated_at=event.recorded_at
        )

    @handles("clusters.cluster_removed")
    def on_removed(self, event: RecordedEvent) -> None:
        Cluster.unscoped.filter(id=event.data.cluster_id).update(
            removed=True, version=event.version, updated_at=event.recorded_at
        )
        Node.unscoped.filter(cluster_id=event.data.cluster_id).delete()

    @handles("clusters.cluster_reachable", "clusters.cluster_unreachable")
    def on_reachability(self, event: RecordedEvent) -> None:
        Cluster.unscoped.filter(id=event.data.cluster_id).update(version=event.version)

    @handles("clusters.node_joined")
    def on_node_joined(self, event: RecordedEvent) -> None:
        d = event.data
        Node.unscoped.create(
            id=node_id(d.cluster_id, d.address),
            tenant_id=event.metadata.tenant_id,
            workspace_id=event.metadata.workspace_id,
            cluster_id=d.cluster_id,
            address=d.address,
            role=d.role,
            status=ONLINE,
            joined_at=event.recorded_at,
            status_since=event.recorded_at,
        )
        Cluster.unscoped.filter(id=d.cluster_id).update(version=event.version)

    @handles("clusters.node_returned", "clusters.node_role_changed", "clusters.node_lost")
    def on_node_changed(self, event: RecordedEvent) -> None:
        d = event.data
        if event.event_type == "clusters.node_lost":
            changes = {"status": LOST, "status_since": event.recorded_at}
        elif event.event_type == "clusters.node_returned":
            changes = {"status": ONLINE, "role": d.role, "status_since": event.recorded_at}
        else:
            changes = {"role": d.role}
        Node.unscoped.filter(cluster_id=d.cluster_id, address=d.address).update(**changes)
        Cluster.unscoped.filter(id=d.cluster_id).update(version=event.version)

    @handles("clusters.node_installed")
    def on_node_installed(self, event: RecordedEvent) -> None:
        d = event.data
        Node.unscoped.filter(cluster_id=d.cluster_id, address=d.address).update(facts=d.facts, role=d.role)
        Cluster.unscoped.filter(id=d.cluster_id).update(version=event.version)

    @handles("clusters.node_removed")
    def on_node_removed(self, event: RecordedEvent) -> None:
        d = event.data
        Node.unscoped.filter(cluster_id=d.cluster_id, address=d.address).delete()
        Cluster.unscoped.filter(id=d.cluster_id).update(version=event.version)


register(ClustersProjector())
