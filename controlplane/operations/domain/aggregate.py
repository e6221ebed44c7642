"""The operation aggregate: pure decisions over one operation's stream (no Django, no network).

The engine asks ``next_move`` what to do, runs a step's handler, and records the outcome through the decide
functions here (``start_step``, ``complete_step``, ``fail_step``, ...). Each returns the events to append, with the
follow-ups that settle the operation when nothing is left to run (``_settled``), so one append never leaves the
operation between two states. Attempts are fenced: an outcome for an attempt that is not the step's current one
is refused (OPERATION_STEP_STALE), so a worker that lost its lease cannot record over its successor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from controlplane.errors import DomainError
from controlplane.operations.domain.events import (
    OperationCancelled,
    OperationCancelRequested,
    OperationFailed,
    OperationRequested,
    OperationRollbackStarted,
    OperationRolledBack,
    OperationStarted,
    OperationSucceeded,
    StepCompensationFailed,
    StepCompensationStarted,
    StepCompensationSucceeded,
    StepFailed,
    StepProgressed,
    StepResumed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from controlplane.operations.domain.plan import StepSpec, check_plan
from controlplane.operations.domain.states import (
    TERMINAL,
    OperationState,
    OperationTransitionIllegal,
    StepState,
    check_step_transition,
    check_transition,
)

Summarize = Callable[["OperationAggregate"], dict]


class OperationError(DomainError):
    code = "OPERATION_INVALID"


class StaleAttempt(DomainError):
    """An outcome for an attempt that is no longer the step's current one (another worker took over)."""

    code = "OPERATION_STEP_STALE"


@dataclass(frozen=True)
class StepStatus:
    state: StepState = StepState.PENDING
    attempt: int = 0
    retry_at: str | None = None  # RETRY_WAIT: the next attempt starts at this time (ISO 8601)
    resumes: int = 0  # takeovers of the current attempt after an expired lease
    journal: tuple[dict, ...] = ()  # ``detail`` of every step_progressed, all attempts, in order
    result: dict | None = None
    error_code: str = ""
    error: str = ""
    compensation_attempt: int = 0
    compensation_retry_at: str | None = None  # COMPENSATING: a failed compensation attempt is retried then
    compensation_result: dict | None = None


@dataclass(frozen=True)
class OperationAggregate:
    exists: bool = False
    operation_id: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    cluster_id: str = ""
    type: str = ""
    params: dict = field(default_factory=dict)
    state: OperationState = OperationState.PENDING
    plan: tuple[StepSpec, ...] = ()
    steps: tuple[StepStatus, ...] = ()
    failed_step: str = ""
    error_code: str = ""
    error: str = ""
    cancel_requested: bool = False
    requested_by: str = ""  # "<actor kind>:<actor id>"

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def index(self, key: str) -> int:
        for i, spec in enumerate(self.plan):
            if spec.key == key:
                return i
        raise OperationError(f"the plan has no step {key!r}", code="OPERATION_STEP_NOT_FOUND", step=key)

    def status(self, key: str) -> StepStatus:
        return self.steps[self.index(key)]

    def running_step(self) -> int | None:
        for i, status in enumerate(self.steps):
            if status.state == StepState.RUNNING:
                return i
        return None

    def current_step(self) -> int | None:
        """The first step not done yet (PENDING, RUNNING or RETRY_WAIT)."""
        for i, status in enumerate(self.steps):
            if status.state in (StepState.PENDING, StepState.RUNNING, StepState.RETRY_WAIT):
                return i
        return None

    def next_compensation(self) -> int | None:
        """The compensation under way, else the latest completed step that has one and was not undone."""
        for i, status in enumerate(self.steps):
            if status.state == StepState.COMPENSATING:
                return i
        for i in range(len(self.steps) - 1, -1, -1):
            if self.steps[i].state == StepState.SUCCEEDED and self.plan[i].compensation:
                return i
        return None


# -- what to do next ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Move:
    """``kind``: done (terminal) | start | step | compensate | wait | settle. For step and compensate: ``new``
    says whether a new attempt starts (record it first) or a started one continues."""

    kind: str
    index: int = -1
    attempt: int = 0
    new: bool = False
    not_before: datetime | None = None


def next_move(op: OperationAggregate, now: datetime) -> Move:
    if not op.exists or op.terminal:
        return Move("done")
    if op.state == OperationState.PENDING:
        return Move("start")
    if op.state == OperationState.RUNNING:
        i = op.current_step()
        if i is None:
            return Move("settle")
        status = op.steps[i]
        if status.state == StepState.PENDING:
            return Move("step", i, 1, new=True)
        if status.state == StepState.RUNNING:
            return Move("step", i, status.attempt, new=False)
        due = _parse(status.retry_at)
        if due is not None and now < due:
            return Move("wait", i, not_before=due)
        return Move("step", i, status.attempt + 1, new=True)
    # CANCELLING or ROLLING_BACK: the step under way (cancelling only) ends first, then compensations in reverse
    i = op.running_step()
    if i is not None:
        return Move("step", i, op.steps[i].attempt, new=False)
    j = op.next_compensation()
    if j is None:
        return Move("settle")
    status = op.steps[j]
    if status.state == StepState.SUCCEEDED:
        return Move("compensate", j, 1, new=True)
    due = _parse(status.compensation_retry_at)
    if due is None:
        return Move("compensate", j, status.compensation_attempt, new=False)
    if now < due:
        return Move("wait", j, not_before=due)
    return Move("compensate", j, status.compensation_attempt + 1, new=True)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# -- decisions ---------------------------------------------------------------------------------------------
def request(
    state: OperationAggregate,
    *,
    operation_id: str,
    tenant_id: str,
    workspace_id: str,
    cluster_id: str,
    type: str,
    params: dict,
    plan: list[StepSpec],
    notes: list[str],
    requested_by: str,
) -> list[object]:
    if state.exists:
        raise OperationError("operation already exists", code="OPERATION_EXISTS")
    if not plan:
        raise OperationError("an operation needs at least one step", code="OPERATION_PLAN_EMPTY")
    try:
        check_plan(plan)
    except ValueError as error:
        raise OperationError(str(error), code="OPERATION_PLAN_INVALID") from None
    return [
        OperationRequested(
            operation_id=operation_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            cluster_id=cluster_id,
            type=type,
            params=params,
            plan=[s.to_dict() for s in plan],
            notes=notes,
            requested_by=requested_by,
        )
    ]


def start(state: OperationAggregate) -> list[object]:
    _require(state)
    if state.state != OperationState.PENDING:
        return []
    check_transition(state.state, OperationState.RUNNING)
    return [OperationStarted(operation_id=state.operation_id)]


def start_step(state: OperationAggregate, *, key: str, attempt: int) -> list[object]:
    """A new attempt, recorded before its side effect. Only in RUNNING: a cancelled operation starts nothing."""
    _require(state)
    i = state.index(key)
    status = state.steps[i]
    if state.state != OperationState.RUNNING:
        raise OperationTransitionIllegal(
            f"no step starts while the operation is {state.state}", current=str(state.state), step=key
        )
    if state.current_step() != i:
        raise OperationTransitionIllegal(f"step {key} is not the next one", step=key)
    if attempt != status.attempt + 1:
        raise StaleAttempt(f"step {key} is at attempt {status.attempt}", step=key, attempt=attempt)
    check_step_transition(key, status.state, StepState.RUNNING)
    return [StepStarted(operation_id=state.operation_id, step=key, index=i, attempt=attempt)]


def resume_step(
    state: OperationAggregate, *, key: str, attempt: int, max_resumes: int, now: datetime, retry_in: float
) -> list[object]:
    """A worker takes over a started attempt after its lease expired. Too many takeovers of one attempt (a step
    that kills or hangs its worker every time) fail the attempt with STEP_WORKER_LOST."""
    status = _current(state, key, attempt)
    resumes = status.resumes + 1
    if resumes > max_resumes:
        return fail_step(
            state,
            key=key,
            attempt=attempt,
            error_code="STEP_WORKER_LOST",
            error=f"the attempt's worker was lost {status.resumes} times",
            transient=True,
            now=now,
            retry_in=retry_in,
        )
    return [StepResumed(operation_id=state.operation_id, step=key, attempt=attempt, resumes=resumes)]


def progress_step(
    state: OperationAggregate,
    *,
    key: str,
    attempt: int,
    message: str = "",
    percent: int | None = None,
    detail: dict | None = None,
) -> list[object]:
    """A note from inside an attempt (of the step, or of its compensation)."""
    _require(state)
    status = state.status(key)
    if not (status.state == StepState.COMPENSATING and status.compensation_attempt == attempt):
        _current(state, key, attempt)
    return [
        StepProgressed(
            operation_id=state.operation_id,
            step=key,
            attempt=attempt,
            message=message[:500],
            percent=percent,
            detail=detail or {},
        )
    ]


def complete_step(
    state: OperationAggregate, *, key: str, attempt: int, result: dict, summarize: Summarize
) -> list[object]:
    _current(state, key, attempt)
    events: list[object] = [StepSucceeded(operation_id=state.operation_id, step=key, attempt=attempt, result=result)]
    return _settled(state, events, summarize)


def fail_step(
    state: OperationAggregate,
    *,
    key: str,
    attempt: int,
    error_code: str,
    error: str,
    transient: bool,
    now: datetime,
    retry_in: float,
    result: dict | None = None,
    summarize: Summarize | None = None,
) -> list[object]:
    """A transient error with attempts left (and the operation still RUNNING) schedules another attempt at
    ``now + retry_in``; anything else fails the step for good: the rest of its batch is skipped when it may
    continue on failure, otherwise the operation rolls back (when a completed step has a compensation) or fails."""
    i = state.index(key)
    _current(state, key, attempt)
    spec = state.plan[i]
    retry = transient and attempt < spec.max_attempts and state.state == OperationState.RUNNING
    failed = StepFailed(
        operation_id=state.operation_id,
        step=key,
        attempt=attempt,
        error_code=error_code,
        error=error[:2000],
        transient=transient,
        retry_at=(now + timedelta(seconds=retry_in)).isoformat() if retry else None,
        result=result,
    )
    if retry:
        return [failed]
    events: list[object] = [failed]
    if state.state == OperationState.RUNNING:
        if spec.continue_on_failure:
            for later in range(i + 1, len(state.plan)):
                other = state.plan[later]
                if spec.batch is not None and other.batch == spec.batch and other.continue_on_failure:
                    events.append(StepSkipped(operation_id=state.operation_id, step=other.key, reason="batch_failed"))
        else:
            after = _apply(state, events)
            if after.next_compensation() is not None:
                check_transition(state.state, OperationState.ROLLING_BACK)
                events.append(
                    OperationRollbackStarted(
                        operation_id=state.operation_id, step=key, error_code=error_code, error=error[:2000]
                    )
                )
            else:
                events.append(
                    OperationFailed(
                        operation_id=state.operation_id,
                        error_code=error_code,
                        error=error[:2000],
                        step=key,
                        result=(summarize or _no_summary)(after),
                    )
                )
            events += _skip_rest(after, "operation_failed")
    return _settled(state, events, summarize or _no_summary)


def request_cancel(state: OperationAggregate, *, reason: str, requested_by: str, summarize: Summarize) -> list[object]:
    _require(state)
    if state.state == OperationState.CANCELLING:
        return []  # asked already
    if state.state not in (OperationState.PENDING, OperationState.RUNNING):
        raise OperationTransitionIllegal(
            f"an operation that is {state.state} cannot be cancelled",
            code="OPERATION_NOT_CANCELLABLE",
            current=str(state.state),
        )
    check_transition(state.state, OperationState.CANCELLING)
    events: list[object] = [
        OperationCancelRequested(operation_id=state.operation_id, reason=reason[:500], requested_by=requested_by)
    ]
    return _settled(state, events, summarize)


def start_compensation(state: OperationAggregate, *, key: str, attempt: int) -> list[object]:
    _require(state)
    i = state.index(key)
    status = state.steps[i]
    if state.state not in (OperationState.CANCELLING, OperationState.ROLLING_BACK) or state.running_step() is not None:
        raise OperationTransitionIllegal(f"no compensation runs while the operation is {state.state}", step=key)
    if state.next_compensation() != i:
        raise OperationTransitionIllegal(f"step {key} is not the next to compensate", step=key)
    if attempt != status.compensation_attempt + 1:
        raise StaleAttempt(f"the compensation of {key} is at attempt {status.compensation_attempt}", step=key)
    check_step_transition(key, status.state, StepState.COMPENSATING)
    return [StepCompensationStarted(operation_id=state.operation_id, step=key, attempt=attempt)]


def complete_compensation(
    state: OperationAggregate, *, key: str, attempt: int, result: dict, summarize: Summarize
) -> list[object]:
    _compensating(state, key, attempt)
    events: list[object] = [
        StepCompensationSucceeded(operation_id=state.operation_id, step=key, attempt=attempt, result=result)
    ]
    return _settled(state, events, summarize)


def fail_compensation(
    state: OperationAggregate,
    *,
    key: str,
    attempt: int,
    error_code: str,
    error: str,
    transient: bool,
    now: datetime,
    retry_in: float,
    summarize: Summarize,
) -> list[object]:
    """A failed compensation is retried like a step; one that fails for good is recorded and the remaining
    compensations still run (the operation then ends FAILED with OPERATION_COMPENSATION_FAILED)."""
    i = state.index(key)
    _compensating(state, key, attempt)
    retry = transient and attempt < state.plan[i].max_attempts
    events: list[object] = [
        StepCompensationFailed(
            operation_id=state.operation_id,
            step=key,
            attempt=attempt,
            error_code=error_code,
            error=error[:2000],
            transient=transient,
            retry_at=(now + timedelta(seconds=retry_in)).isoformat() if retry else None,
        )
    ]
    return events if retry else _settled(state, events, summarize)


def settle(state: OperationAggregate, summarize: Summarize) -> list[object]:
    """The final events of an operation with nothing left to run (normally appended with the last outcome)."""
    _require(state)
    return _settled(state, [], summarize)


def _settled(state: OperationAggregate, events: list[object], summarize: Summarize) -> list[object]:
    after = _apply(state, events)
    if after.terminal or not _nothing_left(after):
        return events
    op_id = state.operation_id
    comp_failed = [
        s for s, st in zip(after.plan, after.steps, strict=True) if st.state == StepState.COMPENSATION_FAILED
    ]
    if after.state == OperationState.RUNNING:
        failed = [s.key for s, st in zip(after.plan, after.steps, strict=True) if st.state == StepState.FAILED]
        if failed:
            final: object = OperationFailed(
                operation_id=op_id,
                error_code="OPERATION_STEPS_FAILED",
                error=f"{len(failed)} step(s) failed: {', '.join(failed)}",
                step=failed[0],
                result=summarize(after),
            )
        else:
            final = OperationSucceeded(operation_id=op_id, result=summarize(after))
        return [*events, final]
    skips = _skip_rest(after, "cancelled" if after.state == OperationState.CANCELLING else "operation_failed")
    after = _apply(after, skips)
    if comp_failed:
        final = OperationFailed(
            operation_id=op_id,
            error_code="OPERATION_COMPENSATION_FAILED",
            error=f"the compensation of {', '.join(s.key for s in comp_failed)} failed",
            step=comp_failed[0].key,
            result=summarize(after),
        )
    elif after.state == OperationState.CANCELLING:
        final = OperationCancelled(operation_id=op_id)
    else:
        final = OperationRolledBack(operation_id=op_id, result=summarize(after))
    return [*events, *skips, final]


def _nothing_left(op: OperationAggregate) -> bool:
    if op.state == OperationState.PENDING:
        return False
    if op.state == OperationState.RUNNING:
        return op.current_step() is None
    return op.running_step() is None and op.next_compensation() is None


def _skip_rest(state: OperationAggregate, reason: str) -> list[object]:
    return [
        StepSkipped(operation_id=state.operation_id, step=spec.key, reason=reason)
        for spec, status in zip(state.plan, state.steps, strict=True)
        if status.state in (StepState.PENDING, StepState.RETRY_WAIT)
    ]


def _no_summary(state: OperationAggregate) -> dict:
    return {}


def _require(state: OperationAggregate) -> None:
    if not state.exists:
        raise OperationError("no such operation", code="OPERATION_NOT_FOUND")


def _current(state: OperationAggregate, key: str, attempt: int) -> StepStatus:
    _require(state)
    status = state.status(key)
    if status.state != StepState.RUNNING or status.attempt != attempt:
        raise StaleAttempt(
            f"step {key} attempt {attempt} is not under way ({status.state}, attempt {status.attempt})",
            step=key,
            attempt=attempt,
        )
    return status


def _compensating(state: OperationAggregate, key: str, attempt: int) -> StepStatus:
    _require(state)
    status = state.status(key)
    if (
        status.state != StepState.COMPENSATING
        or status.compensation_attempt != attempt
        or status.compensation_retry_at is not None
    ):
        raise StaleAttempt(f"the compensation of {key} attempt {attempt} is not under way", step=key, attempt=attempt)
    return status


# -- state from events -------------------------------------------------------------------------------------
def _apply(state: OperationAggregate, events: list[object]) -> OperationAggregate:
    for event in events:
        state = evolve(state, event)
    return state


def _step(op: OperationAggregate, key: str, **changes: Any) -> OperationAggregate:
    i = op.index(key)
    steps = list(op.steps)
    steps[i] = replace(steps[i], **changes)
    return replace(op, steps=tuple(steps))


def evolve(state: OperationAggregate, event: Any) -> OperationAggregate:
    """The next state; ``event`` is a recorded event (its ``data``) or a bare domain event."""
    d = getattr(event, "data", event)
    if isinstance(d, OperationRequested):
        plan = tuple(StepSpec.from_dict(s) for s in d.plan)
        return OperationAggregate(
            exists=True,
            operation_id=d.operation_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            cluster_id=d.cluster_id,
            type=d.type,
            params=d.params,
            plan=plan,
            steps=tuple(StepStatus() for _ in plan),
            requested_by=d.requested_by,
        )
    if isinstance(d, OperationStarted):
        return replace(state, state=OperationState.RUNNING)
    if isinstance(d, StepStarted):
        return _step(state, d.step, state=StepState.RUNNING, attempt=d.attempt, retry_at=None, resumes=0)
    if isinstance(d, StepResumed):
        return _step(state, d.step, resumes=d.resumes)
    if isinstance(d, StepProgressed):
        if not d.detail:
            return state
        return _step(state, d.step, journal=(*state.status(d.step).journal, d.detail))
    if isinstance(d, StepSucceeded):
        return _step(state, d.step, state=StepState.SUCCEEDED, result=d.result, error_code="", error="")
    if isinstance(d, StepFailed):
        target = StepState.RETRY_WAIT if d.retry_at else StepState.FAILED
        state = _step(
            state, d.step, state=target, retry_at=d.retry_at, error_code=d.error_code, error=d.error, result=d.result
        )
        return state if d.retry_at else replace(state, failed_step=d.step, error_code=d.error_code, error=d.error)
    if isinstance(d, StepSkipped):
        return _step(state, d.step, state=StepState.SKIPPED)
    if isinstance(d, StepCompensationStarted):
        return _step(
            state, d.step, state=StepState.COMPENSATING, compensation_attempt=d.attempt, compensation_retry_at=None
        )
    if isinstance(d, StepCompensationSucceeded):
        return _step(state, d.step, state=StepState.COMPENSATED, compensation_result=d.result)
    if isinstance(d, StepCompensationFailed):
        if d.retry_at:
            return _step(state, d.step, compensation_retry_at=d.retry_at)
        return _step(state, d.step, state=StepState.COMPENSATION_FAILED, compensation_retry_at=None)
    if isinstance(d, OperationCancelRequested):
        return replace(state, state=OperationState.CANCELLING, cancel_requested=True)
    if isinstance(d, OperationCancelled):
        return replace(state, state=OperationState.CANCELLED)
    if isinstance(d, OperationSucceeded):
        return replace(state, state=OperationState.SUCCEEDED)
    if isinstance(d, OperationFailed):
        return replace(state, state=OperationState.FAILED, error_code=d.error_code, error=d.error)
    if isinstance(d, OperationRollbackStarted):
        return replace(state, state=OperationState.ROLLING_BACK)
    if isinstance(d, OperationRolledBack):
        return replace(state, state=OperationState.ROLLED_BACK)
    return state


def to_snapshot(state: OperationAggregate) -> dict[str, Any]:
    return {
        **{k: v for k, v in state.__dict__.items() if k not in ("plan", "steps", "state")},
        "state": str(state.state),
        "plan": [s.to_dict() for s in state.plan],
        "steps": [{**s.__dict__, "state": str(s.state), "journal": list(s.journal)} for s in state.steps],
    }


def from_snapshot(data: dict[str, Any]) -> OperationAggregate:
    return OperationAggregate(
        **{k: v for k, v in data.items() if k not in ("plan", "steps", "state")},
        state=OperationState(data["state"]),
        plan=tuple(StepSpec.from_dict(s) for s in data["plan"]),
        steps=tuple(
            StepStatus(**{**s, "state": StepState(s["state"]), "journal": tuple(s["journal"])}) for s in data["steps"]
        ),
    )
