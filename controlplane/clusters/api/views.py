"""Clusters over HTTP: ``/api/v1/tenants/<tenant>/workspaces/<workspace>/clusters/[<id>/[test/|health/|nodes/|
poll/|plugins/]]``, and the platform's connector catalog ``/api/v1/catalog/<version>/``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.agents.selectors import NodeInstalled, agent_payload, agents_by_member, cluster_installed_list
from controlplane.api.base import AuditedViewSet, TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.clusters import actions
from controlplane.clusters import health as cluster_health
from controlplane.clusters.api.serializers import (
    CatalogSerializer,
    ClusterCreateSerializer,
    ClusterSerializer,
    ClusterUpdateSerializer,
    ConnectionTestSerializer,
    HealthSerializer,
    NodeSerializer,
    PluginsSerializer,
)
from controlplane.clusters.connect import connection_of
from controlplane.clusters.domain.aggregate import ONLINE, ClusterError
from controlplane.clusters.models import Cluster, Health, Node
from controlplane.clusters.probe import probe
from controlplane.clusters.selectors import health_get
from controlplane.errors import DomainError
from controlplane.seatunnel.catalog import KINDS, Catalog, catalog_for, known_versions
from controlplane.seatunnel.config.errors import JobCatalogVersionUnknown

# Which connectors are installed on a cluster's nodes is not readable through the engine's REST API: each node's
# agent reports the jars of its SeaTunnel home (docs/AGENT_PROTOCOL.md, "Heartbeat"). Where none did, it says why.
UNKNOWN_REASONS = {
    "no_agent": "no agent",
    "not_reported": "its agent, an older one, does not report installed jars",
    "no_home": "its agent has no SeaTunnel home configured",
    "unreadable": "its agent could not list the home's connectors/",
}


def installed_payload(catalog: Catalog | None, nodes: list[NodeInstalled]) -> list[dict]:
    """Per member: the jars its agent reported and the catalog's plugins they provide (the engine's rule)."""
    rows = []
    for node in nodes:
        installed = node.installed
        jars = installed.connector_jars
        plugins = None
        if jars is not None and catalog is not None:
            provided = catalog.provided_by(jar.file for jar in jars)
            plugins = {kind: sorted((n for k, n in provided if k == kind), key=str.lower) for kind in KINDS}
        listed = (
            None if jars is None else [{"file": j.file, "artifact": j.artifact, "version": j.version} for j in jars]
        )
        rows.append(
            {
                "address": node.address,
                "agent_id": node.agent_id,
                "reported": installed.reported,
                "unknown": node.unknown or None,
                "seatunnel_home": installed.seatunnel_home,
                "connector_jars": listed,
                "lib_jars": None if installed.lib_jars is None else list(installed.lib_jars),
                "plugins": plugins,
            }
        )
    return rows


def installed_reason(nodes: list[NodeInstalled]) -> str:
    """Which members' connectors are not known, and why; empty when every member's are."""
    if not nodes:
        return "the cluster lists no nodes and no agent reported"
    unknown = [f"{node.address} ({UNKNOWN_REASONS[node.unknown]})" for node in nodes if node.unknown]
    return f"unknown for {', '.join(unknown)}" if unknown else ""


class ClusterViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "cluster"
    workspace_scoped = True
    object_grants = "cluster"  # an operator on one cluster (ADR 0019)
    serializer_class = ClusterSerializer
    pagination_class = type("ClusterCursor", (Cursor,), {"ordering": "name"})
    points = {
        "list": "cluster.read",
        "retrieve": "cluster.read",
        "create": "cluster.create",
        "partial_update": "cluster.update",
        "destroy": "cluster.delete",
        "test": "cluster.read",
        "health": "cluster.read",
        "nodes": "cluster.read",
        # Polling now records only what the engine reports (the beat does the same every interval); an
        # operator or viewer who may see health may refresh it, as with the connection test.
        "poll": "cluster.read",
        "plugins": "cluster.read",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Cluster.objects.filter(removed=False)  # the bound tenant and workspace only

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        cluster = self.get_object()
        return with_etag(Response(ClusterSerializer(cluster).data), cluster.version)

    @extend_schema(request=ClusterCreateSerializer, responses={201: ClusterSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        data = ClusterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if values.pop("install"):
            if values.get("endpoints"):
                raise ClusterError(
                    "a cluster to install has no endpoints yet: the install registers them",
                    code="CLUSTER_ENDPOINT_INVALID",
                    field="endpoints",
                )
            cluster_id = actions.do_declare_cluster(
                metadata=self.metadata(),
                tenant_id=self.tenant.id,
                workspace_id=self.workspace.id,
                name=values["name"],
                form=values["form"],
                mode=values["mode"],
                labels=values["labels"],
            )
        else:
            # no endpoints: CLUSTER_ENDPOINT_INVALID from the domain (1..8 are needed to connect)
            values.setdefault("endpoints", [])
            cluster_id = actions.do_register_cluster(
                metadata=self.metadata(), tenant_id=self.tenant.id, workspace_id=self.workspace.id, **values
            )
        self.audit_id = cluster_id
        cluster = Cluster.objects.get(id=cluster_id)
        return with_etag(Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED), cluster.version)

    @extend_schema(request=ClusterUpdateSerializer, responses=ClusterSerializer)
    def partial_update(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        cluster = self.get_object()
        data = ClusterUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(cluster.version)
        actions.do_update_cluster(
            metadata=self.metadata(),
            cluster=cluster,
            changes=dict(data.validated_data),
            expected_version=cluster.version,
        )
        cluster.refresh_from_db()
        return with_etag(Response(ClusterSerializer(cluster).data), cluster.version)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        cluster = self.get_object()
        self.check_version(cluster.version)
        actions.do_remove_cluster(metadata=self.metadata(), cluster=cluster, expected_version=cluster.version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ConnectionTestSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The connection test again, now: reachable, version, slots, running jobs. Changes nothing."""
        cluster = self.get_object()
        overview = probe(**connection_of(cluster))
        return Response(
            {
                "reachable": True,
                "engine_version": overview.version,
                "workers": overview.workers,
                "total_slots": overview.total_slots,
                "unassigned_slots": overview.unassigned_slots,
                "running_jobs": overview.running_jobs,
            }
        )

    @extend_schema(responses=HealthSerializer)
    @action(detail=True, methods=["get"])
    def health(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The latest observation; ``checked_at: null`` when the cluster was never polled."""
        cluster = self.get_object()
        return Response(health_payload(cluster, health_get(cluster.tenant_id, cluster.workspace_id, cluster.id)))

    @extend_schema(responses=NodeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def nodes(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The cluster's members: status from the log (online | lost), metrics and last seen from the last poll."""
        cluster = self.get_object()
        observed = health_get(cluster.tenant_id, cluster.workspace_id, cluster.id)
        paginator = NodeCursor()
        page = paginator.paginate_queryset(Node.objects.filter(cluster_id=cluster.id), request, view=self)
        agents = agents_by_member(cluster.tenant_id, cluster.id)
        return paginator.get_paginated_response(
            [
                {**node_payload(node, cluster, observed), "agent": agent_payload(agents.get(node.address))}
                for node in page or []
            ]
        )

    @extend_schema(request=None, responses=HealthSerializer)
    @action(detail=True, methods=["post"])
    def poll(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Poll the cluster now (as the beat task does) and answer its health."""
        cluster = self.get_object()
        cluster_health.poll_one(cluster, metadata=self.metadata())
        cluster.refresh_from_db()
        return Response(health_payload(cluster, health_get(cluster.tenant_id, cluster.workspace_id, cluster.id)))

    @extend_schema(responses=PluginsSerializer)
    @action(detail=True, methods=["get"])
    def plugins(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The connectors of the cluster's engine version, and per node what its agent reports installed."""
        cluster = self.get_object()
        try:
            catalog: Catalog | None = catalog_for(cluster.engine_version)
            catalog_reason = ""
        except JobCatalogVersionUnknown as error:
            catalog, catalog_reason = None, error.message
        nodes = cluster_installed_list(cluster.id)
        return Response(
            {
                "cluster_id": cluster.id,
                "engine_version": cluster.engine_version,
                "catalog_version": catalog.version if catalog else None,
                "catalog_reason": catalog_reason,
                "connectors": catalog_payload(catalog) if catalog else None,
                "installed": installed_payload(catalog, nodes),
                "installed_reason": installed_reason(nodes),
            }
        )


class NodeCursor(Cursor):
    ordering = "address"


def health_payload(cluster: Cluster, observed: Health | None) -> dict:
    if observed is None:
        return {
            "cluster_id": cluster.id,
            "reachable": None,
            "checked_at": None,
            "error": None,
            "engine_version": cluster.engine_version,
            "members": [],
            "members_identified": None,
            "total_slots": None,
            "free_slots": None,
            "running_jobs": None,
            "pending_jobs": None,
            "heap_used": None,
            "heap_max": None,
            "last_reachable_at": None,
        }
    return {
        "cluster_id": cluster.id,
        "reachable": observed.reachable,
        "checked_at": observed.checked_at,
        "error": {"code": observed.error_code, "message": observed.error_message} if observed.error_code else None,
        "engine_version": observed.engine_version or cluster.engine_version,
        "members": observed.members,
        "members_identified": observed.members_identified,
        "total_slots": observed.total_slots,
        "free_slots": observed.free_slots,
        "running_jobs": observed.running_jobs,
        "pending_jobs": observed.pending_jobs,
        "heap_used": observed.heap_used,
        "heap_max": observed.heap_max,
        "last_reachable_at": observed.last_reachable_at,
    }


def node_payload(node: Node, cluster: Cluster, observed: Health | None) -> dict:
    metrics = None
    if observed is not None and observed.reachable and node.status == ONLINE:
        metrics = next((m for m in observed.members if m.get("address") == node.address), None)
    return {
        "address": node.address,
        "role": node.role or None,
        "status": node.status,
        "status_since": node.status_since,
        "joined_at": node.joined_at,
        # The REST API reports one version for the cluster; agents will report each node's own.
        "engine_version": (observed.engine_version if observed else "") or cluster.engine_version,
        "last_seen": (observed.last_seen.get(node.address) if observed else None),
        "is_master": metrics.get("is_master") if metrics else None,
        "metrics": {k: v for k, v in metrics.items() if k not in ("address", "role", "is_master")} if metrics else None,
        # what the installer gathered when it installed the node ({} for a node it did not install)
        "facts": node.facts,
    }


def catalog_payload(catalog: Catalog) -> dict[str, list[dict[str, str]]]:
    return {
        kind: [
            {"name": name, "artifact": artifact}
            for name, artifact in sorted(catalog.plugins.get(kind, {}).values(), key=lambda e: e[0].lower())
        ]
        for kind in KINDS
    }


class CatalogView(AuditedViewSet):
    """``GET /api/v1/catalog/<version>/``: the connectors SeaTunnel ships for an engine version (platform data,
    the same for every tenant; any signed-in user)."""

    resource_type = "catalog"
    permission_classes = [IsAuthenticated]
    serializer_class = CatalogSerializer

    def retrieve(self, request: Request, version: str) -> Response:
        try:
            catalog = catalog_for(version)
        except JobCatalogVersionUnknown as error:
            raise DomainError(error.message, code="CATALOG_VERSION_NOT_FOUND", **error.details) from None
        return Response(
            {
                "version": version,
                "catalog_version": catalog.version,
                "known_versions": known_versions(),
                "connectors": catalog_payload(catalog),
            }
        )
