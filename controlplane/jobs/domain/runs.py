"""A run's states, the only transitions between them, and how the engine's job states map onto them.

Pure: no Django. A run is one execution of one job version on one cluster. UNKNOWN means the engine cannot say
(or the submit's outcome is unknown); it is resolved by evidence (the engine's answer by job id or name) or by
an operator, never guessed. Terminal states never change: a retry is a new run linked to the old one.
"""

from __future__ import annotations

from enum import StrEnum

from controlplane.errors import DomainError
from controlplane.seatunnel.states import JobState


class RunState(StrEnum):
    PENDING = "PENDING"  # accepted by us, not yet sent to the engine
    SUBMITTING = "SUBMITTING"  # sent, or accepted by the engine and not running yet
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"  # a stop (with or without savepoint) is under way
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    PAUSED = "PAUSED"  # stopped with a savepoint: can be resumed
    UNKNOWN = "UNKNOWN"


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.STOPPED})

_EVIDENCE = {RunState.RUNNING, RunState.SUCCEEDED, RunState.FAILED, RunState.STOPPED, RunState.PAUSED}

TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.SUBMITTING, RunState.FAILED, RunState.STOPPED}),
    RunState.SUBMITTING: frozenset(
        {
            RunState.RUNNING,
            RunState.SUCCEEDED,  # a short batch job can finish between two polls
            RunState.FAILED,
            RunState.STOPPING,
            RunState.STOPPED,
            RunState.UNKNOWN,  # the submit's outcome is unknown
        }
    ),
    RunState.RUNNING: frozenset(
        {RunState.STOPPING, RunState.SUCCEEDED, RunState.FAILED, RunState.STOPPED, RunState.PAUSED, RunState.UNKNOWN}
    ),
    RunState.STOPPING: frozenset(
        {RunState.STOPPED, RunState.PAUSED, RunState.SUCCEEDED, RunState.FAILED, RunState.UNKNOWN}
    ),
    RunState.PAUSED: frozenset({RunState.SUBMITTING, RunState.STOPPED}),  # resume from the savepoint, or discard
    RunState.UNKNOWN: frozenset(_EVIDENCE),
    RunState.SUCCEEDED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.STOPPED: frozenset(),
}


class RunTransitionIllegal(DomainError):
    code = "RUN_TRANSITION_ILLEGAL"


def check_transition(current: RunState, target: RunState) -> None:
    """Raise RUN_TRANSITION_ILLEGAL unless ``current -> target`` is in the table (staying put is allowed)."""
    if target != current and target not in TRANSITIONS[current]:
        raise RunTransitionIllegal(
            f"a run cannot go from {current} to {target}", current=str(current), target=str(target)
        )


# Engine job state -> run state. None: the engine state says nothing new about the run (keep it as it is).
_FROM_ENGINE: dict[JobState, RunState | None] = {
    JobState.INITIALIZING: RunState.SUBMITTING,
    JobState.CREATED: RunState.SUBMITTING,
    JobState.PENDING: RunState.SUBMITTING,
    JobState.SCHEDULED: RunState.SUBMITTING,
    JobState.RUNNING: RunState.RUNNING,
    JobState.FAILING: None,  # still running; FAILED follows
    JobState.DOING_SAVEPOINT: RunState.STOPPING,
    JobState.SAVEPOINT_DONE: RunState.PAUSED,
    JobState.CANCELING: RunState.STOPPING,
    JobState.CANCELED: RunState.STOPPED,
    JobState.FINISHED: RunState.SUCCEEDED,
    JobState.FAILED: RunState.FAILED,
    JobState.UNKNOWABLE: RunState.UNKNOWN,
}


def from_engine(current: RunState, engine: JobState) -> RunState:
    """The run state the engine's job state implies, given where the run is. Never moves a run backwards:
    an engine report that would be an illegal transition (a stale poll) leaves the run where it is."""
    implied = _FROM_ENGINE[engine]
    if implied is None or implied == current:
        return current
    if implied not in TRANSITIONS[current]:
        return current
    return implied
