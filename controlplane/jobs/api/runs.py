"""Runs over HTTP: ``…/jobs/<job>/runs/`` (list, start) and ``…/runs/<run>/`` (read, stop, pause, resume, cancel,
retry, reproduce, resolve, logs). Starting and stopping answer 202: the engine is asked by a worker after commit."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.inputs import Input
from controlplane.api.pagination import Cursor
from controlplane.api.schema import list_filters
from controlplane.jobs import engine, run_actions
from controlplane.jobs.domain.runs import RunState
from controlplane.jobs.models import Job, Run, RunTelemetry
from controlplane.seatunnel.client import ZetaError

LIVE = (RunState.SUBMITTING, RunState.RUNNING, RunState.STOPPING)
LOG_REFRESH_AFTER = timedelta(seconds=2)  # a live run's log is fetched again at most this often
MAX_TAIL = 5000


class RunListSerializer(serializers.ListSerializer):
    """A page of runs reads their live metrics in one query, not one per run."""

    def to_representation(self, data):  # type: ignore[no-untyped-def]
        rows = list(data.all() if hasattr(data, "all") else data)
        telemetry = RunTelemetry.objects.filter(run_id__in=[r.id for r in rows])
        self.child.context["telemetry"] = {t.run_id: t for t in telemetry}
        return super().to_representation(rows)


class RunSerializer(serializers.ModelSerializer):
    engine_job_id = serializers.CharField(read_only=True)  # 64-bit: a string, never a JSON number
    live_metrics = serializers.SerializerMethodField()

    class Meta:
        model = Run
        list_serializer_class = RunListSerializer
        fields = [
            "id",
            "job_id",
            "job_version",
            "cluster_id",
            "state",
            "engine_job_id",
            "engine_job_name",
            "engine_state",
            "error_code",
            "error",
            "reason",
            "retry_of",
            "reproduces",
            "started_by",
            "attempts",
            "acknowledged",
            "metrics",
            "live_metrics",
            "version",
            "created_at",
            "updated_at",
            "submitted_at",
            "finished_at",
        ]

    def get_live_metrics(self, run: Run) -> dict | None:
        if "telemetry" in self.context:
            telemetry = self.context["telemetry"].get(run.id)
        else:
            telemetry = RunTelemetry.objects.filter(run_id=run.id).first()
        if telemetry is None or not telemetry.metrics:
            return None
        return {**telemetry.metrics, "at": telemetry.metrics_at.isoformat() if telemetry.metrics_at else None}


class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "manifest"]


class StartSerializer(Input):
    version = serializers.IntegerField(min_value=1, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    allow_overlap = serializers.BooleanField(required=False, default=False)
    # name -> value for the version's declared job variables; the domain checks names, types and sizes
    variables = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)


class RepeatSerializer(Input):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    allow_overlap = serializers.BooleanField(required=False, default=False)


class StopSerializer(Input):
    savepoint = serializers.BooleanField(required=False, default=False)


class ResolveSerializer(Input):
    state = serializers.ChoiceField(
        choices=[str(s) for s in (RunState.RUNNING, RunState.SUCCEEDED, RunState.FAILED, RunState.STOPPED)]
    )
    reason = serializers.CharField(max_length=2000)


class LogsQuerySerializer(serializers.Serializer):
    tail = serializers.IntegerField(min_value=0, max_value=MAX_TAIL, default=200, help_text="the last N lines")
    after = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, help_text="lines after this")


class FetchErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class LogsSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.CharField())
    first_line = serializers.IntegerField()
    next = serializers.IntegerField()
    live = serializers.BooleanField()
    fetch_error = FetchErrorSerializer(allow_null=True)


class JobRunViewSet(mixins.ListModelMixin, TenantViewSet):
    """The runs of one job, newest first, and starting a new one."""

    resource_type = "run"
    workspace_scoped = True
    object_grants = "job"  # a run follows its job's grant (ADR 0019)
    serializer_class = RunSerializer
    pagination_class = type("RunCursor", (Cursor,), {"ordering": "-created_at"})
    points = {"list": "job.read", "create": "job.run"}

    def _job(self) -> Job:
        job = Job.objects.filter(id=self.kwargs["pk"], deleted=False).first()
        if job is None:
            raise NotFound()  # the same answer as for any object outside the caller's tenant
        self.check_object(job)
        return job

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Run.objects.filter(job_id=self._job().id)

    @extend_schema(request=StartSerializer, responses={202: RunDetailSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run_id = run_actions.do_start_run(metadata=self.metadata(), job=self._job(), **data.validated_data)
        self.audit_id = run_id
        return _respond(Run.objects.get(id=run_id), status.HTTP_202_ACCEPTED)


def _respond(run: Run, code: int = status.HTTP_200_OK) -> Response:
    run.refresh_from_db()
    return with_etag(Response(RunDetailSerializer(run).data, status=code), run.version)


@list_filters("state", "job_id", "cluster_id")
class RunViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "run"
    workspace_scoped = True
    object_grants = "job"  # a run follows its job's grant (ADR 0019)
    serializer_class = RunSerializer
    pagination_class = type("RunCursor", (Cursor,), {"ordering": "-created_at"})
    points = {
        "list": "job.read",
        "retrieve": "job.read",
        "logs": "job.read",
        "stop": "job.stop",
        "pause": "job.stop",
        "cancel": "job.stop",
        "resume": "job.run",
        "retry": "job.run",
        "reproduce": "job.run",
        "resolve": "job.run",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        rows = Run.objects.all()
        for key in ("state", "job_id", "cluster_id"):
            if self.request.query_params.get(key):
                rows = rows.filter(**{key: self.request.query_params[key]})
        return rows

    @extend_schema(responses=RunDetailSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return _respond(self.get_object())

    def _versioned(self) -> tuple[Run, int | None]:
        run = self.get_object()
        self.check_version(run.version)
        return run, (run.version if "If-Match" in self.request.headers else None)

    @extend_schema(request=StopSerializer, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Stop the run on the engine (``savepoint: true`` is the same as pause)."""
        data = StopSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run, expected = self._versioned()
        run_actions.do_stop_run(
            metadata=self.metadata(), run=run, savepoint=data.validated_data["savepoint"], expected_version=expected
        )
        return _respond(run, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Stop with a savepoint; the run becomes PAUSED and can be resumed."""
        run, expected = self._versioned()
        run_actions.do_stop_run(metadata=self.metadata(), run=run, savepoint=True, expected_version=expected)
        return _respond(run, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        run, expected = self._versioned()
        run_actions.do_resume_run(metadata=self.metadata(), run=run, expected_version=expected)
        return _respond(run, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """A run that is not on the engine: PENDING, or PAUSED (its savepoint is dropped)."""
        run, expected = self._versioned()
        run_actions.do_cancel_run(metadata=self.metadata(), run=run, expected_version=expected)
        return _respond(run)

    @extend_schema(request=RepeatSerializer, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        data = RepeatSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_id = run_actions.do_retry_run(metadata=self.metadata(), run=self.get_object(), **data.validated_data)
        self.audit_id = new_id
        return _respond(Run.objects.get(id=new_id), status.HTTP_202_ACCEPTED)

    @extend_schema(request=RepeatSerializer, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def reproduce(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        data = RepeatSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_id = run_actions.do_reproduce_run(metadata=self.metadata(), run=self.get_object(), **data.validated_data)
        self.audit_id = new_id
        return _respond(Run.objects.get(id=new_id), status.HTTP_202_ACCEPTED)

    @extend_schema(request=ResolveSerializer, responses={200: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Settle an UNKNOWN run by hand, saying what the evidence is."""
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run, expected = self._versioned()
        run_actions.do_resolve_run(metadata=self.metadata(), run=run, expected_version=expected, **data.validated_data)
        return _respond(run)

    @extend_schema(parameters=[LogsQuerySerializer], responses=LogsSerializer)
    @action(detail=True, methods=["get"])
    def logs(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """The engine's log lines of the run: ``?tail=N`` (default 200) or ``?after=<line>`` to follow."""
        run = self.get_object()
        query = LogsQuerySerializer(data=request.query_params.dict())  # a dict: "" is a value, not absent
        query.is_valid(raise_exception=True)
        tail, after = query.validated_data["tail"], query.validated_data.get("after")
        telemetry = RunTelemetry.objects.filter(run_id=run.id).first()
        stale = telemetry is None or telemetry.log_at is None or timezone.now() - telemetry.log_at > LOG_REFRESH_AFTER
        fetch_error = None
        if run.acknowledged and stale and (run.state in LIVE or telemetry is None or telemetry.log_at is None):
            try:
                text = engine.fetch_log(run)
            except ZetaError as error:  # show what we have, and say why it is not fresher
                text, fetch_error = (
                    (telemetry.log_text if telemetry else ""),
                    {"code": error.code, "message": error.message},
                )
        else:
            text = telemetry.log_text if telemetry else ""
        lines = text.splitlines()
        first = after if after is not None else max(len(lines) - tail, 0)
        return Response(
            {
                "lines": lines[first:],
                "first_line": first,
                "next": len(lines),
                "live": run.state in LIVE,
                "fetch_error": fetch_error,
            }
        )
