"""ClustersProjector: the cluster read model from cluster streams."""

from __future__ import annotations

from controlplane.clusters.domain import events  # noqa: F401  (registers the event types)
from controlplane.clusters.models import Cluster
from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent


class ClustersProjector(Projector):
    name = "clusters"
    read_models = (Cluster,)

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


register(ClustersProjector())
