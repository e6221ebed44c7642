"""Diagnostics over HTTP.

- ``POST …/faults/match/``: the known faults of a text (``fault.read``).
- ``GET …/diagnostic-archives/[<id>/]``: archives of diagnoses with their findings (``operation.read``);
  ``GET …/diagnostic-archives/<id>/download/``: the tar.gz, streamed (``diagnostics.download``; every download,
  refused or not, leaves an audit record, and a served one a ``diagnostics.archive_downloaded`` event).
- ``GET …/findings/`` (``?cluster_id=&run_id=&archive_id=&fingerprint_id=``) and ``…/findings/<id>/``.
- ``POST …/findings/<id>/fix-plan/``: the plan of its one-click fix and its hash; ``POST …/findings/<id>/fix/``
  with that hash starts it (202) only if the plan is unchanged (``operation.run`` and the fix's own point).

A diagnosis itself is an operation: ``POST …/operations/ {"type": "diagnose", "cluster_id": …, "params": {…}}``.
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import Aim, TenantViewSet
from controlplane.api.pagination import Cursor
from controlplane.clusters.models import Cluster
from controlplane.clusters.selectors import live_cluster
from controlplane.diagnostics import actions, fixes
from controlplane.diagnostics.api.filters import ArchiveFilter, FindingFilter
from controlplane.diagnostics.api.serializers import (
    ArchiveDetailSerializer,
    ArchiveSerializer,
    FindingSerializer,
    FixConfirmSerializer,
    FixRequestSerializer,
    MatchRequestSerializer,
    MatchSerializer,
)
from controlplane.diagnostics.domain.errors import FaultTextTooLarge
from controlplane.diagnostics.selectors import archive_list, fault_match, finding_list

MAX_TEXT_CHARS = 1_000_000  # a request body is also at most MAX_REQUEST_BYTES (REQUEST_TOO_LARGE)


class FaultViewSet(TenantViewSet):
    resource_type = "fault"
    workspace_scoped = True
    pagination_class = None
    points = {"match": "fault.read"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Cluster.objects.none()  # the library is code and data, the same for every tenant: no rows

    @extend_schema(request=MatchRequestSerializer, responses=MatchSerializer(many=True))
    def match(self, request: Request, tenant: str, workspace: str) -> Response:
        data = MatchRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["text"]
        if len(text) > MAX_TEXT_CHARS:
            raise FaultTextTooLarge(
                f"the text has {len(text)} characters, more than {MAX_TEXT_CHARS}", limit=MAX_TEXT_CHARS
            )
        found = fault_match(text, metrics=data.validated_data["metrics"])
        return Response([m.as_dict(with_evidence=data.validated_data["evidence"]) for m in found])


class ArchiveViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "diagnostic_archive"
    workspace_scoped = True
    serializer_class = ArchiveSerializer
    pagination_class = type("ArchiveCursor", (Cursor,), {"ordering": "-created_at"})
    filterset_class = ArchiveFilter
    object_grants = "cluster"  # a role on one cluster reaches its archives (ADR 0019)
    points = {"list": "operation.read", "retrieve": "operation.read", "download": "diagnostics.download"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return archive_list()

    def aim(self, request: Request, status: int) -> Aim | None:
        """A download is audited whatever its outcome (a read that hands out node logs)."""
        found = super().aim(request, status)
        if found is None and self.action == "download" and self.tenant is not None:
            return Aim(self.tenant.id, self.workspace.id if self.workspace else "")
        return found

    @extend_schema(responses=ArchiveDetailSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return Response(ArchiveDetailSerializer(self.get_object()).data)

    @extend_schema(responses={(200, "application/gzip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, tenant: str, workspace: str, pk: str) -> FileResponse:
        """The archive as it was packed (tar.gz), streamed from the file store; 410 DIAGNOSTIC_ARCHIVE_EXPIRED
        once its retention ended."""
        archive = self.get_object()
        opened = actions.do_download_archive(metadata=self.metadata(), archive=archive, now=timezone.now())
        response = FileResponse(
            opened,
            as_attachment=True,
            filename=f"diagnostics-{archive.id}.tar.gz",
            content_type="application/gzip",
        )
        response["X-Content-SHA256"] = archive.sha256
        return response


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    resource_type = "finding"
    workspace_scoped = True
    serializer_class = FindingSerializer
    pagination_class = type("FindingCursor", (Cursor,), {"ordering": "-created_at"})
    filterset_class = FindingFilter
    object_grants = "cluster"
    points = {
        "list": "operation.read",
        "retrieve": "operation.read",
        "fix_plan": "operation.run",
        "fix": "operation.run",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return finding_list()

    def _finding_and_cluster(self):  # type: ignore[no-untyped-def]
        finding = self.get_object()
        cluster = live_cluster(self.tenant.id, self.workspace.id, finding.cluster_id)  # type: ignore[union-attr]
        self.check_object(cluster)
        return finding, cluster

    @extend_schema(request=FixRequestSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="fix-plan")
    def fix_plan(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The plan of the finding's one-click fix (which operation or agent action, on which nodes, with what
        params) and its ``plan_hash``; nothing is written or run."""
        data = FixRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding, cluster = self._finding_and_cluster()
        return Response(fixes.plan_fix(finding, cluster, data.validated_data["params"]).as_dict())

    @extend_schema(request=FixConfirmSerializer, responses={202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def fix(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Confirm the plan: 202 with the operation started (201 with the job version written, for a job_version
        fix), or 409 DIAGNOSTIC_FIX_PLAN_CHANGED with the new hash."""
        data = FixConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding, cluster = self._finding_and_cluster()
        operation_id, plan = actions.do_apply_fix(
            metadata=self.metadata(),
            finding=finding,
            cluster=cluster,
            plan_hash=data.validated_data["plan_hash"],
            params=data.validated_data["params"],
        )
        if plan.kind == "job_version":  # written, not started: the new version exists now
            return Response({"job_version_id": operation_id, **plan.as_dict()}, status=status.HTTP_201_CREATED)
        return Response({"operation_id": operation_id, **plan.as_dict()}, status=status.HTTP_202_ACCEPTED)
