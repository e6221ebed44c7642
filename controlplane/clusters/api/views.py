"""Clusters over HTTP: ``/api/v1/tenants/<tenant>/workspaces/<workspace>/clusters/[<id>/[test/]]``."""

from __future__ import annotations

from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.clusters import actions
from controlplane.clusters.domain.aggregate import FORMS, MODES
from controlplane.clusters.models import Cluster
from controlplane.clusters.probe import probe


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "form",
            "mode",
            "engine_version",
            "endpoints",
            "context_path",
            "auth_secret",
            "labels",
            "version",
            "created_at",
            "updated_at",
        ]


class ClusterCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    form = serializers.ChoiceField(choices=list(FORMS))
    mode = serializers.ChoiceField(choices=list(MODES), default="hybrid")
    endpoints = serializers.ListField(child=serializers.CharField(max_length=300), min_length=1, max_length=8)
    context_path = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    auth_secret = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    labels = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False, default=dict
    )


class ClusterUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    endpoints = serializers.ListField(
        child=serializers.CharField(max_length=300), min_length=1, max_length=8, required=False
    )
    context_path = serializers.CharField(max_length=200, required=False, allow_blank=True)
    auth_secret = serializers.CharField(max_length=100, required=False, allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True), required=False)


class ClusterViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "cluster"
    workspace_scoped = True
    serializer_class = ClusterSerializer
    pagination_class = type("ClusterCursor", (Cursor,), {"ordering": "name"})
    points = {
        "list": "cluster.read",
        "retrieve": "cluster.read",
        "create": "cluster.create",
        "partial_update": "cluster.update",
        "destroy": "cluster.delete",
        "test": "cluster.read",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Cluster.objects.filter(removed=False)  # the bound tenant and workspace only

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        cluster = self.get_object()
        return with_etag(Response(ClusterSerializer(cluster).data), cluster.version)

    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        data = ClusterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster_id = actions.do_register_cluster(
            metadata=self.metadata(), tenant_id=self.tenant.id, workspace_id=self.workspace.id, **data.validated_data
        )
        self.audit_id = cluster_id
        cluster = Cluster.objects.get(id=cluster_id)
        return with_etag(Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED), cluster.version)

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

    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        cluster = self.get_object()
        self.check_version(cluster.version)
        actions.do_remove_cluster(metadata=self.metadata(), cluster=cluster, expected_version=cluster.version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def test(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The connection test again, now: reachable, version, slots, running jobs. Changes nothing."""
        cluster = self.get_object()
        overview = probe(
            tenant_id=cluster.tenant_id,
            workspace_id=cluster.workspace_id,
            endpoints=cluster.endpoints,
            context_path=cluster.context_path,
            auth_secret=cluster.auth_secret,
        )
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
