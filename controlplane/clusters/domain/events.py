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


# -- observed transitions (controlplane/clusters/health.py): only changes are events, never each poll ----------
@event_type("clusters.cluster_unreachable")
@dataclass(frozen=True)
class ClusterUnreachable:
    cluster_id: str
    error_code: str  # ZETA_UNREACHABLE, ZETA_AUTH_FAILED, ZETA_BAD_RESPONSE, CLUSTER_AUTH_INVALID, ...
    error_message: str


@event_type("clusters.cluster_reachable")
@dataclass(frozen=True)
class ClusterReachable:
    cluster_id: str
    engine_version: str  # what the cluster reported when it answered again


@event_type("clusters.node_joined")
@dataclass(frozen=True)
class NodeJoined:
    cluster_id: str
    address: str  # host:port of the member, as the engine reports it
    role: str  # master | worker | hybrid | "" (the engine does not say)


@event_type("clusters.node_lost")
@dataclass(frozen=True)
class NodeLost:
    cluster_id: str
    address: str


@event_type("clusters.node_returned")
@dataclass(frozen=True)
class NodeReturned:
    cluster_id: str
    address: str
    role: str


@event_type("clusters.node_role_changed")
@dataclass(frozen=True)
class NodeRoleChanged:
    cluster_id: str
    address: str
    role: str
    previous_role: str
