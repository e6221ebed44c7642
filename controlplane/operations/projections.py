"""OperationsProjector: operations and their steps from operation streams."""

from __future__ import annotations

from datetime import datetime

from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent
from controlplane.operations.domain import events  # noqa: F401  (registers the event types)
from controlplane.operations.domain.states import OperationState, StepState
from controlplane.operations.models import Operation, OperationStep

_DONE = (StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED)


class OperationsProjector(Projector):
    name = "operations"
    read_models = (OperationStep, Operation)

    @handles("operations.operation_requested")
    def on_requested(self, event: RecordedEvent) -> None:
        d = event.data
        Operation.unscoped.create(
            id=d.operation_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            cluster_id=d.cluster_id,
            type=d.type,
            params=d.params,
            state=OperationState.PENDING,
            requested_by=d.requested_by,
            notes=d.notes,
            step_count=len(d.plan),
            version=event.version,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )
        OperationStep.unscoped.bulk_create(
            OperationStep(
                id=f"{d.operation_id}:{index}",
                tenant_id=d.tenant_id,
                workspace_id=d.workspace_id,
                operation_id=d.operation_id,
                index=index,
                key=step["key"],
                kind=step["kind"],
                title=step["title"][:300],
                runs_in=step["runs_in"],
                targets=step.get("targets", []),
                params=step.get("params", {}),
                batch=step.get("batch"),
                compensation=step.get("compensation") or "",
                continue_on_failure=bool(step.get("continue_on_failure")),
                state=StepState.PENDING,
                updated_at=event.recorded_at,
            )
            for index, step in enumerate(d.plan)
        )

    def _operation(self, event: RecordedEvent, **fields: object) -> None:
        Operation.unscoped.filter(id=event.data.operation_id).update(
            **fields, version=event.version, updated_at=event.recorded_at
        )

    def _step(self, event: RecordedEvent, **fields: object) -> None:
        OperationStep.unscoped.filter(operation_id=event.data.operation_id, key=event.data.step).update(
            **fields, updated_at=event.recorded_at
        )
        done = OperationStep.unscoped.filter(operation_id=event.data.operation_id, state__in=_DONE).count()
        self._operation(event, steps_done=done)

    @handles("operations.operation_started")
    def on_started(self, event: RecordedEvent) -> None:
        self._operation(event, state=OperationState.RUNNING, started_at=event.recorded_at)

    @handles("operations.step_started")
    def on_step_started(self, event: RecordedEvent) -> None:
        d = event.data
        self._step(
            event,
            state=StepState.RUNNING,
            attempt=d.attempt,
            retry_at=None,
            error_code="",
            error="",
            message="",
            percent=None,
            started_at=event.recorded_at,
        )
        self._operation(event, current_step=d.step)

    @handles("operations.step_resumed")
    def on_step_resumed(self, event: RecordedEvent) -> None:
        self._step(event, message=f"resumed by another worker ({event.data.resumes})")

    @handles("operations.step_progressed")
    def on_step_progressed(self, event: RecordedEvent) -> None:
        d = event.data
        fields: dict[str, object] = {}
        if d.message:
            fields["message"] = d.message[:500]
        if d.percent is not None:
            fields["percent"] = max(0, min(int(d.percent), 100))
        self._step(event, **fields)

    @handles("operations.step_succeeded")
    def on_step_succeeded(self, event: RecordedEvent) -> None:
        self._step(event, state=StepState.SUCCEEDED, result=event.data.result, finished_at=event.recorded_at)

    @handles("operations.step_failed")
    def on_step_failed(self, event: RecordedEvent) -> None:
        d = event.data
        retry = datetime.fromisoformat(d.retry_at) if d.retry_at else None
        self._step(
            event,
            state=StepState.RETRY_WAIT if retry else StepState.FAILED,
            retry_at=retry,
            error_code=d.error_code,
            error=d.error,
            result=d.result,
            finished_at=None if retry else event.recorded_at,
        )

    @handles("operations.step_skipped")
    def on_step_skipped(self, event: RecordedEvent) -> None:
        self._step(event, state=StepState.SKIPPED, message=f"skipped: {event.data.reason}")

    @handles("operations.step_compensation_started")
    def on_compensation_started(self, event: RecordedEvent) -> None:
        self._step(event, state=StepState.COMPENSATING, message=f"compensating (attempt {event.data.attempt})")

    @handles("operations.step_compensation_succeeded")
    def on_compensation_succeeded(self, event: RecordedEvent) -> None:
        self._step(event, state=StepState.COMPENSATED, compensation_result=event.data.result)

    @handles("operations.step_compensation_failed")
    def on_compensation_failed(self, event: RecordedEvent) -> None:
        d = event.data
        fields: dict[str, object] = {"error_code": d.error_code, "error": d.error}
        if not d.retry_at:
            fields["state"] = StepState.COMPENSATION_FAILED
        self._step(event, **fields)

    @handles("operations.operation_cancel_requested")
    def on_cancel_requested(self, event: RecordedEvent) -> None:
        self._operation(event, state=OperationState.CANCELLING, cancel_requested_by=event.data.requested_by)

    @handles("operations.operation_rollback_started")
    def on_rollback_started(self, event: RecordedEvent) -> None:
        d = event.data
        self._operation(
            event, state=OperationState.ROLLING_BACK, failed_step=d.step, error_code=d.error_code, error=d.error
        )

    @handles("operations.operation_cancelled")
    def on_cancelled(self, event: RecordedEvent) -> None:
        self._operation(event, state=OperationState.CANCELLED, current_step="", finished_at=event.recorded_at)

    @handles("operations.operation_succeeded")
    def on_succeeded(self, event: RecordedEvent) -> None:
        self._operation(
            event,
            state=OperationState.SUCCEEDED,
            result=event.data.result,
            current_step="",
            finished_at=event.recorded_at,
        )

    @handles("operations.operation_failed")
    def on_failed(self, event: RecordedEvent) -> None:
        d = event.data
        self._operation(
            event,
            state=OperationState.FAILED,
            error_code=d.error_code,
            error=d.error,
            failed_step=d.step or "",
            result=d.result,
            current_step="",
            finished_at=event.recorded_at,
        )

    @handles("operations.operation_rolled_back")
    def on_rolled_back(self, event: RecordedEvent) -> None:
        self._operation(
            event,
            state=OperationState.ROLLED_BACK,
            result=event.data.result,
            current_step="",
            finished_at=event.recorded_at,
        )


register(OperationsProjector())
