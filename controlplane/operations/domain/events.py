"""Events of an operation's stream (wire names are stable). One stream per operation: ``operation-<id>``.

A step's attempt is keyed (operation, step key, attempt): ``step_started`` is recorded before its side effect,
so a worker that dies mid-step leaves a started attempt that the next worker resumes under the same key.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("operations.operation_requested")
@dataclass(frozen=True)
class OperationRequested:
    operation_id: str
    tenant_id: str
    workspace_id: str
    cluster_id: str
    type: str  # rolling_restart | diagnose (formerly collect_diagnostics) | run_action | ...
    params: dict
    plan: list  # StepSpec.to_dict() of every step, in order
    notes: list  # what the planner wants the requester to know (e.g. runs are paused cluster-wide)
    requested_by: str  # "<actor kind>:<actor id>"


@event_type("operations.operation_started")
@dataclass(frozen=True)
class OperationStarted:
    operation_id: str


@event_type("operations.step_started")
@dataclass(frozen=True)
class StepStarted:
    """Recorded before the attempt's side effect."""

    operation_id: str
    step: str
    index: int
    attempt: int


@event_type("operations.step_resumed")
@dataclass(frozen=True)
class StepResumed:
    """A worker took over a started attempt whose lease had expired (its worker died or hung)."""

    operation_id: str
    step: str
    attempt: int
    resumes: int  # how many times this attempt was taken over, counting this one


@event_type("operations.step_progressed")
@dataclass(frozen=True)
class StepProgressed:
    """Something happened inside an attempt. ``detail`` is the step's journal: a handler records what it did
    (e.g. which runs it paused) in the same transaction as doing it, and reads it back when resumed."""

    operation_id: str
    step: str
    attempt: int
    message: str
    percent: int | None
    detail: dict


@event_type("operations.step_succeeded")
@dataclass(frozen=True)
class StepSucceeded:
    operation_id: str
    step: str
    attempt: int
    result: dict


@event_type("operations.step_failed")
@dataclass(frozen=True)
class StepFailed:
    """``transient``: another attempt follows at ``retry_at`` (ISO 8601); otherwise the step failed for good."""

    operation_id: str
    step: str
    attempt: int
    error_code: str
    error: str
    transient: bool
    retry_at: str | None
    result: dict | None  # what the attempt got done, e.g. per target


@event_type("operations.step_skipped")
@dataclass(frozen=True)
class StepSkipped:
    operation_id: str
    step: str
    reason: str  # "cancelled" | "batch_failed" | "operation_failed"


@event_type("operations.step_compensation_started")
@dataclass(frozen=True)
class StepCompensationStarted:
    operation_id: str
    step: str
    attempt: int  # attempts of the compensation, from 1


@event_type("operations.step_compensation_succeeded")
@dataclass(frozen=True)
class StepCompensationSucceeded:
    operation_id: str
    step: str
    attempt: int
    result: dict


@event_type("operations.step_compensation_failed")
@dataclass(frozen=True)
class StepCompensationFailed:
    operation_id: str
    step: str
    attempt: int
    error_code: str
    error: str
    transient: bool
    retry_at: str | None


@event_type("operations.operation_cancel_requested")
@dataclass(frozen=True)
class OperationCancelRequested:
    operation_id: str
    reason: str
    requested_by: str


@event_type("operations.operation_cancelled")
@dataclass(frozen=True)
class OperationCancelled:
    operation_id: str


@event_type("operations.operation_succeeded")
@dataclass(frozen=True)
class OperationSucceeded:
    operation_id: str
    result: dict


@event_type("operations.operation_failed")
@dataclass(frozen=True)
class OperationFailed:
    operation_id: str
    error_code: str
    error: str
    step: str | None  # the step that failed, if one did
    result: dict


@event_type("operations.operation_rollback_started")
@dataclass(frozen=True)
class OperationRollbackStarted:
    """A step failed for good: the compensations of the completed steps run in reverse."""

    operation_id: str
    step: str
    error_code: str
    error: str


@event_type("operations.operation_rolled_back")
@dataclass(frozen=True)
class OperationRolledBack:
    operation_id: str
    result: dict
