"""Events of a cluster's stream (wire names are stable)."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("clusters.cluster_registered")
@dataclass(frozen=True)
class ClusterRegistered:
    cluster_id: str
    tenant_id: str
    workspace_id: str
    name: str
    form: str  # bare_metal | compose | kubernetes
    mode: str  # hybrid | separated
    engine_version: str  # as the cluster reported it on registration
    endpoints: list[str]
    context_path: str
    auth_secret: str  # name of a secret holding "user:password" for basic auth, or ""
    labels: dict[str, str]


@event_type("clusters.cluster_updated")
@dataclass(frozen=True)
class ClusterUpdated:
    cluster_id: str
    changes: dict  # only the fields that changed: name, endpoints, context_path, auth_secret, labels, engine_version


@event_type("clusters.cluster_removed")
@dataclass(frozen=True)
class ClusterRemoved:
    cluster_id: str
