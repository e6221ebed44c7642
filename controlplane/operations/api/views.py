"""Operations over HTTP: ``…/operations/`` (list, request; ``?dry_run=true`` plans only), ``…/operations/plan/``
(the dry run), ``…/operations/<id>/`` (with its steps) and ``…/operations/<id>/cancel/``. Requesting and cancelling
answer 202: a worker does the work after commit."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.clusters.selectors import live_cluster
from controlplane.operations import actions, selectors
from controlplane.operations.api.filters import OperationFilter
from controlplane.operations.api.serializers import (
    CancelSerializer,
    OperationDetailSerializer,
    OperationSerializer,
    PlanSerializer,
    RequestSerializer,
    plan_body,
)
from controlplane.operations.models import Operation

TRUE = ("1", "true", "yes")


def _respond(operation: Operation, code: int = status.HTTP_200_OK) -> Response:
    operation.refresh_from_db()
    return with_etag(Response(OperationDetailSerializer(operation).data, status=code), operation.version)


class OperationViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "operation"
    workspace_scoped = True
    serializer_class = OperationSerializer
    pagination_class = type("OperationCursor", (Cursor,), {"ordering": "-created_at"})
    filterset_class = OperationFilter
    object_grants = "cluster"  # a role on one cluster reaches the operations on it (ADR 0019)
    points = {
        "list": "operation.read",
        "retrieve": "operation.read",
        "create": "operation.run",
        "plan": "operation.run",
        "cancel": "operation.cancel",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.operation_list()

    def _planned(self, request: Request):  # type: ignore[no-untyped-def]
        data = RequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        cluster = live_cluster(self.tenant.id, self.workspace.id, values["cluster_id"])  # type: ignore[union-attr]
        self.check_object(cluster)
        return values, cluster

    @extend_schema(
        request=RequestSerializer,
        parameters=[OpenApiParameter("dry_run", bool, description="only plan: 200 and nothing written")],
        responses={202: OperationDetailSerializer, 200: PlanSerializer},
    )
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        """Request an operation (202), or with ``?dry_run=true`` only show its plan (200, nothing written)."""
        values, cluster = self._planned(request)
        if request.query_params.get("dry_run", "").lower() in TRUE:
            planned = actions.plan_operation(cluster=cluster, type=values["type"], params=values["params"])
            return Response(plan_body(values["type"], cluster.id, planned))
        operation_id = actions.do_request_operation(
            metadata=self.metadata(),
            cluster=cluster,
            type=values["type"],
            params=values["params"],
            plan_hash=values.get("plan_hash"),
        )
        self.audit_id = operation_id
        return _respond(Operation.objects.get(id=operation_id), status.HTTP_202_ACCEPTED)

    @extend_schema(request=RequestSerializer, responses=PlanSerializer)
    @action(detail=False, methods=["post"])
    def plan(self, request: Request, tenant: str, workspace: str) -> Response:
        """The dry run: each step with its target nodes and agents, nothing written and nothing run."""
        values, cluster = self._planned(request)
        planned = actions.plan_operation(cluster=cluster, type=values["type"], params=values["params"])
        return Response(plan_body(values["type"], cluster.id, planned))

    @extend_schema(responses=OperationDetailSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return _respond(self.get_object())

    @extend_schema(request=CancelSerializer, responses={202: OperationDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Ask the operation to stop: no new step starts, running agent actions are asked to stop, completed
        steps are compensated, then it is CANCELLED."""
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        operation = self.get_object()
        self.check_version(operation.version)
        expected = operation.version if "If-Match" in request.headers else None
        actions.do_cancel_operation(
            metadata=self.metadata(),
            operation=operation,
            reason=data.validated_data["reason"],
            expected_version=expected,
        )
        return _respond(operation, status.HTTP_202_ACCEPTED)
