"""The only writers of clusters. Each authorizes its actor first (ADR 0018): cluster.create / cluster.update /
cluster.delete as the API's views require, and cluster.read for recording a health poll (the poll view's point;
the beat's poll is the system)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from controlplane.clusters import connect
from controlplane.clusters.domain import aggregate
from controlplane.clusters.domain.aggregate import ClusterState
from controlplane.clusters.models import Cluster, Health
from controlplane.clusters.probe import probe
from controlplane.clusters.selectors import health_get, live_cluster_count
from controlplane.eventlog.aggregates import AggregateSpec, execute, execute_retrying
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.tenancy.actions import check_quota
from controlplane.tenancy.context import bound

if TYPE_CHECKING:
    from controlplane.clusters.health import ClusterHealth

CLUSTER = AggregateSpec[ClusterState](
    name="clusters.cluster",
    initial=ClusterState,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)
# A change of any of these is tested against the cluster (its overview answers) before it is recorded.
CONNECTION_FIELDS = ("endpoints", "context_path", "auth_secret", *aggregate.CONNECTION_SETTINGS)
# last_seen keeps members that left for this long, so the nodes list can say when a lost node was last seen.
LAST_SEEN_KEPT = timedelta(days=7)
# Another writer (an update, a concurrent poll) moving the stream makes a health record decide again.
_CONFLICT_RETRIES = 3


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
    v1_endpoints: list[str] | None = None,
    timeouts: dict[str, float] | None = None,
    tls_ca_secret: str = "",
    tls_cert_secret: str = "",
    tls_key_secret: str = "",
    tls_verify: bool = True,
    tls_verify_reason: str = "",
) -> str:
    """Register a cluster after a connection test (its overview answers; its version is read). Returns its id.
    ``v1_endpoints``: where a 2.3.6-2.3.8 cluster's v1 REST answers (its member port, 5801) when not on
    ``endpoints``; ``timeouts``: seconds per call kind (connect, read, submit, stop, logs); ``tls_*``: secrets
    holding a CA bundle, a client certificate and its key, or ``tls_verify`` false with a reason (lab use)."""
    authorize(metadata, "cluster.create", tenant_id=tenant_id, workspace_id=workspace_id)
    aggregate.check_name(name)
    endpoints = aggregate.check_endpoints(endpoints)
    aggregate.check_auth_secret(auth_secret)
    settings = {
        "v1_endpoints": aggregate.check_v1_endpoints(v1_endpoints or []),
        "timeouts": aggregate.check_timeouts(timeouts or {}),
        "tls_ca_secret": tls_ca_secret,
        "tls_cert_secret": tls_cert_secret,
        "tls_key_secret": tls_key_secret,
        "tls_verify": tls_verify,
    }
    aggregate.check_tls({**settings, "tls_verify_reason": tls_verify_reason}, turning_off=not tls_verify)
    check_quota(tenant_id, "clusters", live_cluster_count(tenant_id))
    overview = probe(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        endpoints=endpoints,
        context_path=context_path,
        auth_secret=auth_secret,
        **settings,
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
            tls_verify_reason=tls_verify_reason,
            **settings,
        ),
        replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id),
    )
    return cluster_id


def do_declare_cluster(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    name: str,
    form: str,
    mode: str,
    labels: dict[str, str] | None = None,
) -> str:
    """Register a cluster that is not installed yet (an ``install_cluster`` operation will put it on its agents'
    nodes): no endpoints, no version, no connection test; the install records them (``do_record_installed_nodes``).
    Returns its id. Its agents enrol with bootstrap tokens naming it."""
    authorize(metadata, "cluster.create", tenant_id=tenant_id, workspace_id=workspace_id)
    check_quota(tenant_id, "clusters", live_cluster_count(tenant_id))
    cluster_id = uuid.uuid4().hex
    execute(
        CLUSTER,
        cluster_stream(cluster_id),
        lambda state: aggregate.declare(
            state,
            cluster_id=cluster_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=name,
            form=form,
            mode=mode,
            labels=labels or {},
        ),
        replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id),
    )
    return cluster_id


def do_record_installed_nodes(
    *,
    metadata: Metadata,
    cluster: Cluster,
    nodes: list[dict[str, Any]],
    engine_version: str = "",
    endpoints: list[str] | None = None,
    mode: str | None = None,
) -> tuple[str, ...]:
    """Register what an install, upgrade or scale out found on the nodes, as the installer gathered it (nobody
    re-types it): the cluster's REST endpoints and engine version, and per node (``address``, ``role``,
    ``facts``) the member and its facts. Needs ``cluster.update`` (an operation step records it as the system).
    Returns the wire names appended."""
    authorize(metadata, "cluster.update", tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, obj=cluster)
    meta = replace(metadata, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id)
    _, recorded = execute_retrying(
        CLUSTER,
        cluster_stream(cluster.id),
        lambda state: aggregate.record_install(
            state,
            cluster_id=cluster.id,
            engine_version=engine_version,
            endpoints=list(endpoints or []),
            mode=mode,
            nodes=nodes,
        ),
        meta,
        attempts=_CONFLICT_RETRIES,
    )
    return tuple(e.event_type for e in recorded)


def do_remove_node(*, metadata: Metadata, cluster: Cluster, address: str, endpoints: list[str] | None = None) -> None:
    """Take a member out of the cluster on purpose (after a scale in uninstalled it): the node is gone, not lost.
    ``endpoints``: the cluster's REST endpoints without that node's, when it was one of them."""
    authorize(metadata, "cluster.update", tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, obj=cluster)
    meta = replace(metadata, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id)

    def decide(state: ClusterState) -> list[object]:
        events = aggregate.remove_node(state, cluster_id=cluster.id, address=address)
        if endpoints:
            events += aggregate.update(state, cluster_id=cluster.id, changes={"endpoints": endpoints})
        return events

    execute_retrying(CLUSTER, cluster_stream(cluster.id), decide, meta, attempts=_CONFLICT_RETRIES)


def do_update_cluster(
    *, metadata: Metadata, cluster: Cluster, changes: dict[str, Any], expected_version: int | None = None
) -> None:
    """Change name, endpoints, context path, auth secret or labels; new connection settings are tested first."""
    authorize(metadata, "cluster.update", tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id)
    if any(key in changes for key in CONNECTION_FIELDS):
        merged = {key: changes.get(key, getattr(cluster, key)) for key in connect.CONNECTION_FIELDS}
        merged["endpoints"] = aggregate.check_endpoints(merged["endpoints"])
        merged["v1_endpoints"] = aggregate.check_v1_endpoints(merged["v1_endpoints"])
        merged["timeouts"] = aggregate.check_timeouts(merged["timeouts"])
        aggregate.check_tls(
            {**merged, "tls_verify_reason": changes.get("tls_verify_reason", cluster.tls_verify_reason)},
            turning_off=changes.get("tls_verify") is False and cluster.tls_verify,
        )
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
    authorize(metadata, "cluster.delete", tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id)
    execute(
        CLUSTER,
        cluster_stream(cluster.id),
        lambda state: aggregate.remove(state, cluster_id=cluster.id),
        replace(metadata, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id),
        expected_version=expected_version,
    )


def do_record_cluster_health(*, metadata: Metadata, cluster: Cluster, observed: ClusterHealth) -> tuple[str, ...]:
    """Store one poll's observation (the cluster's ``Health`` row, overwritten: ADR 0006) and append only the
    transitions it reveals: reachability, members, engine version. Returns the wire names of what it appended."""
    authorize(metadata, "cluster.read", tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, obj=cluster)
    meta = replace(metadata, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id)
    roles = {m.address: m.role for m in observed.members if m.address} if observed.members_identified else None

    def decide(state: ClusterState) -> list[object]:
        return aggregate.observe(
            state,
            cluster_id=cluster.id,
            reachable=observed.reachable,
            engine_version=observed.engine_version,
            error_code=observed.error_code,
            error_message=observed.error_message,
            members=roles,
        )

    with transaction.atomic():
        _, recorded = execute_retrying(CLUSTER, cluster_stream(cluster.id), decide, meta, attempts=_CONFLICT_RETRIES)
        _store_health(cluster, observed)
    return tuple(e.event_type for e in recorded)


def _store_health(cluster: Cluster, observed: ClusterHealth) -> None:
    previous = health_get(cluster.tenant_id, cluster.workspace_id, cluster.id)
    last_seen: dict[str, str] = {}
    if previous is not None:
        horizon = observed.checked_at - LAST_SEEN_KEPT
        for address, when in previous.last_seen.items():
            seen = parse_datetime(when)
            if seen is not None and seen >= horizon:
                last_seen[address] = when
    for member in observed.members:
        if member.address:
            last_seen[member.address] = observed.checked_at.isoformat()
    values = {
        "tenant_id": cluster.tenant_id,
        "workspace_id": cluster.workspace_id,
        "reachable": observed.reachable,
        "error_code": observed.error_code,
        "error_message": observed.error_message,
        "engine_version": observed.engine_version or (previous.engine_version if previous else ""),
        "members": [asdict(m) for m in observed.members],
        "members_identified": observed.members_identified,
        "total_slots": observed.total_slots,
        "free_slots": observed.free_slots,
        "running_jobs": observed.running_jobs,
        "pending_jobs": observed.pending_jobs,
        "heap_used": observed.heap_used,
        "heap_max": observed.heap_max,
        "checked_at": observed.checked_at,
        "last_reachable_at": observed.checked_at
        if observed.reachable
        else (previous.last_reachable_at if previous else None),
        "last_seen": last_seen,
    }
    with bound(cluster.tenant_id, cluster.workspace_id):
        Health.objects.update_or_create(cluster_id=cluster.id, defaults=values)
