"""Runs over HTTP: ``…/jobs/<job>/runs/`` (list, start) and ``…/runs/<run>/`` (read, stop, pause, resume, cancel,
retry, reproduce, resolve, logs). Starting and stopping answer 202: the engine is asked by a worker after commit."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.jobs import run_actions, runner, selectors
from controlplane.jobs.api.filters import RunFilter
from controlplane.jobs.api.serializers import (
    LogsQuerySerializer,
    LogsSerializer,
    RepeatSerializer,
    ResolveSerializer,
    RunDetailSerializer,
    RunSerializer,
    StartSerializer,
    StopSerializer,
)
from controlplane.jobs.models import Job, Run


class JobRunViewSet(mixins.ListModelMixin, TenantViewSet):
    """The runs of one job, newest first, and starting a new one."""

    resource_type = "run"
    workspace_scoped = True
    object_grants = "job"  # a run follows its job's grant (ADR 0019)
    serializer_class = RunSerializer
    pagination_class = type("RunCursor", (Cursor,), {"ordering": "-created_at"})
    points = {"list": "job.read", "create": "job.run"}

    def _job(self) -> Job:
        job = selectors.job_get(self.kwargs["pk"])
        if job is None:
            raise NotFound()  # the same answer as for any object outside the caller's tenant
        self.check_object(job)
        return job

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.run_list(job=self._job())

    @extend_schema(request=StartSerializer, responses={202: RunDetailSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run_id = run_actions.do_start_run(metadata=self.metadata(), job=self._job(), **data.validated_data)
        self.audit_id = run_id
        return _respond(_run(run_id), status.HTTP_202_ACCEPTED)


def _run(run_id: str) -> Run:
    run = selectors.run_get(run_id)
    if run is None:
        raise NotFound()
    return run


def _respond(run: Run, code: int = status.HTTP_200_OK) -> Response:
    run.refresh_from_db()
    return with_etag(Response(RunDetailSerializer(run).data, status=code), run.version)


class RunViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "run"
    workspace_scoped = True
    object_grants = "job"  # a run follows its job's grant (ADR 0019)
    serializer_class = RunSerializer
    pagination_class = type("RunCursor", (Cursor,), {"ordering": "-created_at"})
    filterset_class = RunFilter
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
        return selectors.run_list()

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
        return _respond(_run(new_id), status.HTTP_202_ACCEPTED)

    @extend_schema(request=RepeatSerializer, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def reproduce(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        data = RepeatSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_id = run_actions.do_reproduce_run(metadata=self.metadata(), run=self.get_object(), **data.validated_data)
        self.audit_id = new_id
        return _respond(_run(new_id), status.HTTP_202_ACCEPTED)

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
        page = runner.log_page(run, tail=query.validated_data["tail"], after=query.validated_data.get("after"))
        return Response(asdict(page))
