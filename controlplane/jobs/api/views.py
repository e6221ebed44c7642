"""Jobs and their config versions over HTTP, under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/jobs/``."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.inputs import Input
from controlplane.api.pagination import Cursor
from controlplane.errors import DomainError
from controlplane.jobs import actions
from controlplane.jobs.domain.schedule import next_fire_times
from controlplane.jobs.models import Job, JobSchedule, JobVersion
from controlplane.seatunnel.config.diff import diff_configs

FORMATS = ["auto", "hocon", "json", "yaml", "sql"]


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "description",
            "labels",
            "cluster_id",
            "cluster_selector",
            "mode",
            "current_version",
            "version",
            "created_at",
            "updated_at",
        ]


class JobVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobVersion
        fields = [
            "version",
            "format",
            "text",
            "normalised",
            "mode",
            "variables",
            "message",
            "author",
            "rolled_back_from",
            "created_at",
        ]


class VariableSerializer(Input):
    """One job variable; the domain checks the name and the value (JOB_VARIABLE_INVALID)."""

    name = serializers.CharField(max_length=64)
    default = serializers.JSONField(required=False, allow_null=True)


class JobCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    cluster_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    cluster_selector = serializers.DictField(child=serializers.CharField(max_length=200), required=False, default=dict)
    config = serializers.CharField(max_length=512 * 1024, trim_whitespace=False)
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    labels = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False, default=dict
    )
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    variables = VariableSerializer(many=True, required=False, default=list)


class JobUpdateSerializer(Input):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True), required=False)
    cluster_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    cluster_selector = serializers.DictField(child=serializers.CharField(max_length=200), required=False)


class RevisionSerializer(Input):
    config = serializers.CharField(max_length=512 * 1024, trim_whitespace=False)
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    variables = VariableSerializer(many=True, required=False)  # absent: the current version's


class RollbackSerializer(Input):
    to_version = serializers.IntegerField(min_value=1)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ScheduleSerializer(Input):
    cron = serializers.CharField(max_length=120)
    timezone = serializers.CharField(max_length=64, default="UTC")
    enabled = serializers.BooleanField(default=True)
    allow_overlap = serializers.BooleanField(default=False)


class JobScheduleSerializer(serializers.ModelSerializer):
    upcoming = serializers.SerializerMethodField()

    class Meta:
        model = JobSchedule
        fields = [
            "cron",
            "timezone",
            "enabled",
            "allow_overlap",
            "next_fire_at",
            "upcoming",
            "last_fire_at",
            "last_run_id",
            "last_skipped",
            "missed",
        ]

    def get_upcoming(self, row: JobSchedule) -> list[str]:
        """The next five fire times (UTC), to check an expression before trusting it."""
        if row.next_fire_at is None:
            return []
        first = row.next_fire_at
        return [first.isoformat()] + [t.isoformat() for t in next_fire_times(row.cron, row.timezone, first, 4)]


MAX_VERSION = 2**31 - 1  # a version number the database can hold; anything larger names no version


class VersionsQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="answer the version that was current at this time")


class JobVersionListSerializer(serializers.Serializer):
    results = JobVersionSerializer(many=True)


def _version_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_VERSION, required=False, help_text=help_text)


# "from" is a Python keyword, so these two are built with type() rather than a class statement.
DiffQuerySerializer = type(
    "DiffQuerySerializer",
    (serializers.Serializer,),
    {"from": _version_field("default: the version before `to`"), "to": _version_field("default: the current one")},
)
DiffSerializer = type(
    "DiffSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "text": serializers.CharField(help_text="unified diff of the config texts"),
        "structure": serializers.DictField(help_text="structural diff of the normalised configs"),
    },
)


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
        return Job.objects.filter(deleted=False)  # the bound tenant and workspace only

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
        return self._respond(Job.objects.get(id=job_id), status.HTTP_201_CREATED)

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
        rows = JobVersion.objects.filter(job_id=job.id).order_by("-version")
        if "at" in query.validated_data:
            moment = query.validated_data["at"]
            current = rows.filter(created_at__lte=moment).first()
            if current is None:
                raise DomainError("the job had no version yet at that time", code="JOB_VERSION_NOT_FOUND", field="at")
            return Response(JobVersionSerializer(current).data)
        return Response({"results": JobVersionSerializer(rows, many=True).data})

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
        row = JobVersion.objects.filter(job_id=job.id, version=number).first()
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
        rows = {v.version: v for v in JobVersion.objects.filter(job_id=job.id, version__in=[old, new])}
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
        row = JobSchedule.objects.filter(job_id=job.id).first()
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
