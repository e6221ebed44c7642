"""The run aggregate: pure decisions over one run's stream (no Django, no network).

Every state change is checked against ``runs.TRANSITIONS``. The engine's word arrives through ``observe`` (a
poll's answer) and never moves a run backwards; an operator's word through ``resolve`` (UNKNOWN only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from controlplane.errors import DomainError
from controlplane.jobs.domain.run_events import (
    RunRequested,
    RunStateChanged,
    RunStopRequested,
    RunSubmissionStarted,
    RunSubmitOutcomeUnknown,
    RunSubmitted,
)
from controlplane.jobs.domain.runs import TERMINAL, RunState, RunTransitionIllegal, check_transition, from_engine
from controlplane.seatunnel.states import JobState as EngineState

REASONS = ("manual", "retry", "reproduce", "schedule")


class RunError(DomainError):
    code = "RUN_INVALID"


@dataclass(frozen=True)
class RunAggregate:
    exists: bool = False
    state: RunState = RunState.PENDING
    tenant_id: str = ""
    workspace_id: str = ""
    cluster_id: str = ""
    job_id: str = ""
    engine_job_id: int = 0
    attempts: int = 0
    acknowledged: bool = False  # the engine has the current submission
    resuming: bool = False  # the current submission starts from the savepoint
    stop_savepoint: bool | None = None  # a stop under way: with savepoint (pause) or not

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL


def request(state: RunAggregate, **fields: Any) -> list[object]:
    if state.exists:
        raise RunError("run already exists", code="RUN_EXISTS")
    if fields["reason"] not in REASONS:
        raise RunError(f"reason is one of {', '.join(REASONS)}", code="RUN_REASON_INVALID", field="reason")
    return [RunRequested(**fields)]


def begin_submission(state: RunAggregate, *, run_id: str) -> list[object]:
    """Before the submit request leaves: a first submit (PENDING), a resume (PAUSED), or another attempt of a
    submission the engine never acknowledged (SUBMITTING; the caller reconciles by engine job id first)."""
    _require(state, run_id)
    check_transition(state.state, RunState.SUBMITTING)
    if state.state == RunState.PAUSED:
        return [RunSubmissionStarted(run_id=run_id, attempt=state.attempts + 1, resume=True)]
    if state.state in (RunState.PENDING, RunState.SUBMITTING) and not state.acknowledged:
        return [RunSubmissionStarted(run_id=run_id, attempt=state.attempts + 1, resume=state.resuming)]
    raise RunTransitionIllegal(
        f"a run in {state.state} cannot be submitted", current=str(state.state), target=str(RunState.SUBMITTING)
    )


def acknowledge(state: RunAggregate, *, run_id: str, found_by_reconcile: bool) -> list[object]:
    """The engine has the job (its submit answer, or a reconcile that found it by id)."""
    _require(state, run_id)
    if state.acknowledged or state.state not in (RunState.SUBMITTING, RunState.UNKNOWN, RunState.STOPPING):
        return []
    return [
        RunSubmitted(
            run_id=run_id,
            engine_job_id=state.engine_job_id,
            attempt=state.attempts,
            found_by_reconcile=found_by_reconcile,
        )
    ]


def submit_failed(state: RunAggregate, *, run_id: str, code: str, message: str) -> list[object]:
    """The engine refused the submit, or it could not be sent at all: FAILED, with the engine's message."""
    _require(state, run_id)
    return _move(state, run_id, RunState.FAILED, source="submit", error_code=code, error=message)


def submit_outcome_unknown(
    state: RunAggregate, *, run_id: str, code: str, message: str, settle: bool = False
) -> list[object]:
    """The submit left but its answer was lost. The run stays SUBMITTING: the next attempt asks the engine for
    the job by id before it sends anything again, and the sync loop adopts the job if a poll shows it.
    ``settle``: the retry budget is spent: the run becomes UNKNOWN (nothing is sent again; a poll that sees the
    job, or an operator, settles it), never FAILED on a guess."""
    _require(state, run_id)
    if state.state != RunState.SUBMITTING or state.acknowledged:
        return []
    events: list[object] = [
        RunSubmitOutcomeUnknown(run_id=run_id, attempt=state.attempts, error_code=code, error=message)
    ]
    if settle:
        events += _move(state, run_id, RunState.UNKNOWN, source="submit", error_code=code, error=message)
    return events


def observe(
    state: RunAggregate, *, run_id: str, engine_state: EngineState, error: str | None, metrics: dict | None
) -> list[object]:
    """What a poll says about the run's engine job. Seeing the job at all acknowledges a submission."""
    _require(state, run_id)
    events = acknowledge(state, run_id=run_id, found_by_reconcile=True)
    if events:
        state = replace(state, acknowledged=True)
    target = from_engine(state.state, engine_state)
    if target == RunState.PAUSED and state.stop_savepoint is not True:
        target = state.state  # SAVEPOINT_DONE belongs to a pause we asked for; anything else is not ours
    if target != state.state:
        code = "ZETA_JOB_FAILED" if target == RunState.FAILED else None
        events += _move(
            state,
            run_id,
            target,
            source="engine",
            engine_state=str(engine_state),
            error_code=code,
            error=error if target == RunState.FAILED else None,
            metrics=metrics if target in TERMINAL or target == RunState.PAUSED else None,
        )
    return events


def engine_lost(state: RunAggregate, *, run_id: str) -> list[object]:
    """The engine answers but no longer knows the job (restart without persistence, history expired)."""
    _require(state, run_id)
    if state.terminal or state.state in (RunState.UNKNOWN, RunState.PAUSED, RunState.PENDING):
        return []
    return _move(
        state,
        run_id,
        RunState.UNKNOWN,
        source="engine",
        error_code="ZETA_JOB_NOT_FOUND",
        error=f"the cluster no longer knows engine job {state.engine_job_id}",
    )


def stop(state: RunAggregate, *, run_id: str, savepoint: bool) -> list[object]:
    _require(state, run_id)
    if savepoint and state.state != RunState.RUNNING:
        raise RunTransitionIllegal(
            f"only a RUNNING run can be paused, this one is {state.state}",
            current=str(state.state),
            target=str(RunState.STOPPING),
        )
    if state.state == RunState.STOPPING:
        return []  # already stopping: the engine is asked again by the sync loop
    check_transition(state.state, RunState.STOPPING)
    return [RunStopRequested(run_id=run_id, savepoint=savepoint)]


def stopped_unsent(state: RunAggregate, *, run_id: str) -> list[object]:
    """A stop asked for before the engine ever had the job (a reconcile found nothing): nothing to stop."""
    _require(state, run_id)
    if state.state != RunState.STOPPING or state.acknowledged:
        return []
    return _move(state, run_id, RunState.STOPPED, source="submit", error="stopped before the engine had the job")


def cancel(state: RunAggregate, *, run_id: str) -> list[object]:
    """A run that is not on the engine: PENDING (not sent yet) or PAUSED (drop the savepoint)."""
    _require(state, run_id)
    if state.state not in (RunState.PENDING, RunState.PAUSED):
        raise RunTransitionIllegal(
            f"only a PENDING or PAUSED run can be cancelled, this one is {state.state}: stop it instead",
            current=str(state.state),
            target=str(RunState.STOPPED),
        )
    return _move(state, run_id, RunState.STOPPED, source="operator", error="cancelled")


def resolve(state: RunAggregate, *, run_id: str, target: RunState, reason: str) -> list[object]:
    """An operator settles an UNKNOWN run from evidence they have."""
    _require(state, run_id)
    if state.state != RunState.UNKNOWN:
        raise RunTransitionIllegal(
            f"only an UNKNOWN run is resolved by hand, this one is {state.state}",
            current=str(state.state),
            target=str(target),
        )
    if not reason.strip():
        raise RunError("say what the evidence is", code="RUN_REASON_REQUIRED", field="reason")
    return _move(state, run_id, target, source="operator", error=reason.strip()[:2000])


def check_retry(state: RunAggregate, *, run_id: str) -> None:
    _require(state, run_id)
    if state.state not in (RunState.FAILED, RunState.STOPPED):
        raise RunTransitionIllegal(
            f"only a FAILED or STOPPED run is retried, this one is {state.state}",
            current=str(state.state),
            target=str(RunState.PENDING),
        )


def _move(
    state: RunAggregate,
    run_id: str,
    target: RunState,
    *,
    source: str,
    engine_state: str | None = None,
    error_code: str | None = None,
    error: str | None = None,
    metrics: dict | None = None,
) -> list[object]:
    if target == state.state:
        return []
    check_transition(state.state, target)
    return [
        RunStateChanged(
            run_id=run_id,
            previous=str(state.state),
            state=str(target),
            source=source,
            engine_state=engine_state,
            error_code=error_code,
            error=error,
            metrics=metrics,
        )
    ]


def _require(state: RunAggregate, run_id: str) -> None:
    if not state.exists:
        raise RunError("no such run", code="RUN_NOT_FOUND", run_id=run_id)


def evolve(state: RunAggregate, event: Any) -> RunAggregate:
    data = event.data
    if isinstance(data, RunRequested):
        return RunAggregate(
            exists=True,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            cluster_id=data.cluster_id,
            job_id=data.job_id,
            engine_job_id=data.engine_job_id,
        )
    if isinstance(data, RunSubmissionStarted):
        return replace(
            state,
            state=RunState.SUBMITTING,
            attempts=data.attempt,
            acknowledged=False,
            resuming=data.resume,
            stop_savepoint=None,
        )
    if isinstance(data, RunSubmitted):
        return replace(state, acknowledged=True)
    if isinstance(data, RunStopRequested):
        return replace(state, state=RunState.STOPPING, stop_savepoint=data.savepoint)
    if isinstance(data, RunStateChanged):
        return replace(state, state=RunState(data.state))
    return state


def to_snapshot(state: RunAggregate) -> dict[str, Any]:
    return {**state.__dict__, "state": str(state.state)}


def from_snapshot(data: dict[str, Any]) -> RunAggregate:
    return RunAggregate(**{**data, "state": RunState(data["state"])})
