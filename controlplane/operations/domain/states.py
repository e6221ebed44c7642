"""An operation's states and a step's states, with the only transitions between them. Pure: no Django.

PENDING -> RUNNING -> SUCCEEDED | FAILED. A step that fails for good, with compensations to run, moves the operation
to ROLLING_BACK and then ROLLED_BACK (or FAILED when a compensation fails too). A cancel moves it to CANCELLING: no
new step starts, a running agent action is asked to stop, the compensations of the completed steps run, then
CANCELLED. Terminal states never change.
"""

from __future__ import annotations

from enum import StrEnum

from controlplane.errors import DomainError


class OperationState(StrEnum):
    PENDING = "PENDING"  # requested, no worker has started it yet
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"  # asked to stop: the step under way ends, then compensations run
    CANCELLED = "CANCELLED"
    ROLLING_BACK = "ROLLING_BACK"  # a step failed for good: compensations of the completed steps run in reverse
    ROLLED_BACK = "ROLLED_BACK"


TERMINAL = frozenset(
    {OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLED, OperationState.ROLLED_BACK}
)

TRANSITIONS: dict[OperationState, frozenset[OperationState]] = {
    OperationState.PENDING: frozenset({OperationState.RUNNING, OperationState.CANCELLING}),  # a cancel settles at once
    OperationState.RUNNING: frozenset(
        {OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLING, OperationState.ROLLING_BACK}
    ),
    OperationState.CANCELLING: frozenset({OperationState.CANCELLED, OperationState.FAILED}),
    OperationState.ROLLING_BACK: frozenset({OperationState.ROLLED_BACK, OperationState.FAILED}),
    OperationState.SUCCEEDED: frozenset(),
    OperationState.FAILED: frozenset(),
    OperationState.CANCELLED: frozenset(),
    OperationState.ROLLED_BACK: frozenset(),
}


class StepState(StrEnum):
    PENDING = "PENDING"  # not started
    RUNNING = "RUNNING"  # an attempt is under way (started is recorded before its side effect)
    RETRY_WAIT = "RETRY_WAIT"  # the last attempt failed with a transient error: another one after a backoff
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # for good
    SKIPPED = "SKIPPED"  # not run: the operation stopped before it, or its batch failed (continue_on_failure)
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"


STEP_TRANSITIONS: dict[StepState, frozenset[StepState]] = {
    StepState.PENDING: frozenset({StepState.RUNNING, StepState.SKIPPED}),
    StepState.RUNNING: frozenset({StepState.SUCCEEDED, StepState.FAILED, StepState.RETRY_WAIT}),
    StepState.RETRY_WAIT: frozenset({StepState.RUNNING, StepState.SKIPPED, StepState.FAILED}),
    StepState.SUCCEEDED: frozenset({StepState.COMPENSATING}),
    StepState.COMPENSATING: frozenset({StepState.COMPENSATED, StepState.COMPENSATION_FAILED}),
    StepState.FAILED: frozenset(),
    StepState.SKIPPED: frozenset(),
    StepState.COMPENSATED: frozenset(),
    StepState.COMPENSATION_FAILED: frozenset(),
}


class OperationTransitionIllegal(DomainError):
    code = "OPERATION_TRANSITION_ILLEGAL"


def check_transition(current: OperationState, target: OperationState) -> None:
    if target != current and target not in TRANSITIONS[current]:
        raise OperationTransitionIllegal(
            f"an operation cannot go from {current} to {target}", current=str(current), target=str(target)
        )


def check_step_transition(key: str, current: StepState, target: StepState) -> None:
    if target != current and target not in STEP_TRANSITIONS[current]:
        raise OperationTransitionIllegal(
            f"step {key} cannot go from {current} to {target}", step=key, current=str(current), target=str(target)
        )
