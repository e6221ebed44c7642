"""Jobs and their config versions over HTTP, under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/jobs/``."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.errors import DomainError
from controlplane.jobs import actions, selectors
from controlplane.jobs.api.serializers import (
    MAX_VERSION,
    DiffQuerySerializer,
    DiffSerializer,
    JobCreateSerializer,
    JobScheduleSerializer,
    JobSerializer,
    JobUpdateSerializer,
    JobVersionListSerializer,
    JobVersionSerializer,
    RevisionSerializer,
    RollbackSerializer,
    ScheduleSerializer,
    VersionsQuerySerializer,
)
from controlplane.jobs.models import Job
from controlplane.seatunnel.config.diff import diff_configs


class JobViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "job"
    workspace_scoped = True
    object_grants = "job"  # an operator on one job (ADR 0019)
    serializer_class = JobSerializer
    pagination_class = type("JobCursor", (Cursor,), {"ordering": "name"})
    points = {
        "list": "job.read",
        "retrieve": "job.read",
        "create": "job.create",
        "partial_update": "job.update",
        "destroy": "job.delete",
        "versions": "job.read",
        "revise": "job.update",
        "version": "job.read",
        "diff": "job.read",
        "rollback": "job.update",
        "schedule": "job.read",
        "set_schedule": "job.update",
        "remove_schedule": "job.update",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.job_list()  # the bound tenant and workspace only

    def _respond(self, job: Job, code: int = status.HTTP_200_OK) -> Response:
        job.refresh_from_db()
        return with_etag(Response(JobSerializer(job).data, status=code), job.version)

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return self._respond(self.get_object())

    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        data = JobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job_id = actions.do_create_job(
            metadata=self.metadata(), tenant_id=self.tenant.id, workspace_id=self.workspace.id, **data.validated_data
        )
        self.audit_id = job_id
        return self._respond(selectors.job_get(job_id), status.HTTP_201_CREATED)

    @extend_schema(request=JobUpdateSerializer, responses=JobSerializer)
    def partial_update(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        job = self.get_object()
        data = JobUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(job.version)
        actions.do_update_job(
            metadata=self.metadata(), job=job, changes=dict(data.validated_data), expected_version=job.version
        )
        return self._respond(job)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        job = self.get_object()
        self.check_version(job.version)
        actions.do_delete_job(metadata=self.metadata(), job=job, expected_version=job.version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="jobs_versions_list",
        parameters=[VersionsQuerySerializer],
        responses=PolymorphicProxySerializer(
            component_name="JobVersionsOrVersion",
            serializers=[JobVersionListSerializer, JobVersionSerializer],
            resource_type_field_name=None,
        ),
    )
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Every version, newest first; ``?at=<ISO time>`` answers the version that was current then."""
        job = self.get_object()
        query = VersionsQuerySerializer(data=request.query_params.dict())  # a dict: "" is a value, not absent
        query.is_valid(raise_exception=True)
        if "at" in query.validated_data:
            current = selectors.version_at(job, query.validated_data["at"])
            if current is None:
                raise DomainError("the job had no version yet at that time", code="JOB_VERSION_NOT_FOUND", field="at")
            return Response(JobVersionSerializer(current).data)
        return Response({"results": JobVersionSerializer(selectors.version_list(job), many=True).data})

    @extend_schema(request=RevisionSerializer, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def revise(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        job = self.get_object()
        data = RevisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(job.version)
        actions.do_revise_job(
            metadata=self.metadata(),
            job=job,
            config=data.validated_data["config"],
            format=data.validated_data["format"],
            message=data.validated_data["message"],
            variables=data.validated_data.get("variables"),
            expected_version=job.version,
        )
        return self._respond(job)

    @extend_schema(operation_id="jobs_version_retrieve", responses=JobVersionSerializer)
    def version(self, request: Request, tenant: str, workspace: str, pk: str, number: int) -> Response:
        job = self.get_object()
        if number > MAX_VERSION:
            raise DomainError(f"job has no version {number}", code="JOB_VERSION_NOT_FOUND")
        row = selectors.version_get(job, number)
        if row is None:
            raise DomainError(f"job has no version {number}", code="JOB_VERSION_NOT_FOUND")
        return Response(JobVersionSerializer(row).data)

    @extend_schema(parameters=[DiffQuerySerializer], responses=DiffSerializer)
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """``?from=<n>&to=<m>`` (default: the previous version against the current one)."""
        job = self.get_object()
        query = DiffQuerySerializer(data=request.query_params.dict())  # a dict: "" is a value, not absent
        query.is_valid(raise_exception=True)
        new = query.validated_data.get("to", job.current_version)
        old = query.validated_data.get("from", new - 1)
        rows = selectors.versions_by_number(job, [old, new])
        for number in (old, new):
            if number not in rows:
                raise DomainError(f"job has no version {number}", code="JOB_VERSION_NOT_FOUND")
        body = diff_configs(rows[old].text, rows[old].normalised, rows[new].text, rows[new].normalised)
        return Response({"from": old, "to": new, **body})

    @extend_schema(request=RollbackSerializer, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        job = self.get_object()
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(job.version)
        actions.do_roll_back_job(metadata=self.metadata(), job=job, expected_version=job.version, **data.validated_data)
        return self._respond(job)

    def _schedule(self, job: Job, code: int = status.HTTP_200_OK) -> Response:
        row = selectors.schedule_get(job)
        if row is None:
            raise DomainError("the job has no schedule", code="JOB_SCHEDULE_NOT_FOUND")
        job.refresh_from_db()
        return with_etag(Response(JobScheduleSerializer(row).data, status=code), job.version)

    @extend_schema(responses=JobScheduleSerializer)
    def schedule(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return self._schedule(self.get_object())

    @extend_schema(request=ScheduleSerializer, responses=JobScheduleSerializer)
    def set_schedule(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Run the job on a cron expression (5 fields) in a time zone; no overlap unless allowed."""
        job = self.get_object()
        data = ScheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(job.version)
        actions.do_set_schedule(metadata=self.metadata(), job=job, expected_version=job.version, **data.validated_data)
        return self._schedule(job)

    @extend_schema(responses={204: None})
    def remove_schedule(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        job = self.get_object()
        self.check_version(job.version)
        actions.do_remove_schedule(metadata=self.metadata(), job=job, expected_version=job.version)
        return Response(status=status.HTTP_204_NO_CONTENT)
