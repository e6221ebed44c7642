"""Events of a cluster's stream (wire names are stable)."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type, upcaster


@event_type("clusters.cluster_registered", version=2)
@dataclass(frozen=True)
class ClusterRegistered:
    """v2: per-cluster call timeouts, separate v1 endpoints and TLS settings (secrets named, never their values;
    ``tls_verify`` false only with ``tls_verify_reason``, the metadata saying who)."""

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
    v1_endpoints: list[str]  # where the v1 REST answers when not on `endpoints` (2.3.6-2.3.8: port 5801); [] same
    timeouts: dict[str, float]  # seconds per call kind (connect, read, submit, stop, logs); absent: the default
    tls_ca_secret: str  # name of a secret holding the PEM CA bundle to trust, or ""
    tls_cert_secret: str  # client certificate (PEM) for mutual TLS, or ""
    tls_key_secret: str  # its private key (PEM), or ""
    tls_verify: bool
    tls_verify_reason: str  # why verification is off (lab use): required when tls_verify is false


@upcaster("clusters.cluster_registered", from_version=1)
def _registered_v1(payload: dict) -> dict:
    """Clusters registered before these settings used the defaults: same endpoints, default timeouts, verified TLS
    against the system's CAs."""
    return {
        **payload,
        "v1_endpoints": [],
        "timeouts": {},
        "tls_ca_secret": "",
        "tls_cert_secret": "",
        "tls_key_secret": "",
        "tls_verify": True,
        "tls_verify_reason": "",
    }


@event_type("clusters.cluster_updated")
@dataclass(frozen=True)
class ClusterUpdated:
    cluster_id: str
    # only the fields that changed: name, endpoints, context_path, auth_secret, labels, engine_version, v1_endpoints,
    # timeouts, tls_* (a change of tls_verify carries tls_verify_reason)
    changes: dict


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


@event_type("clusters.node_installed")
@dataclass(frozen=True)
class NodeInstalled:
    """The installer put (or upgraded) SeaTunnel on this member's node; `facts` are what the node gathered:
    hostname, engine version, role, REST endpoint, Java version, CPUs, memory, disk, prefix, agent id."""

    cluster_id: str
    address: str
    role: str
    facts: dict


@event_type("clusters.node_removed")
@dataclass(frozen=True)
class NodeRemoved:
    """The node left the cluster on purpose (scale in, uninstall): it is no longer a member, lost or online."""

    cluster_id: str
    address: str
