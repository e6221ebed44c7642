"""The action aggregate (pure): one signed unit of work for one agent. States move only along
``TRANSITIONS`` (docs/AGENT_PROTOCOL.md, "Action states")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from controlplane.agents.domain.catalog import check_params
from controlplane.agents.domain.events import (
    ActionCancelled,
    ActionCancelRequested,
    ActionDelivered,
    ActionExpired,
    ActionFailed,
    ActionProgressed,
    ActionRefused,
    ActionRequested,
    ActionSucceeded,
)
from controlplane.errors import DomainError


class ActionState(StrEnum):
    PENDING = "PENDING"  # queued, not handed to the agent yet
    DELIVERED = "DELIVERED"  # handed to the agent by a poll
    RUNNING = "RUNNING"  # the agent reported progress
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REFUSED = "REFUSED"  # the agent would not run it (signature, expiry, replay, allowlist, params)
    EXPIRED = "EXPIRED"  # never picked up, or picked up and never started, before it expired


S = ActionState
FINAL = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.REFUSED, S.EXPIRED})
TRANSITIONS: dict[ActionState, frozenset[ActionState]] = {
    S.PENDING: frozenset({S.DELIVERED, S.CANCELLED, S.REFUSED, S.EXPIRED}),
    S.DELIVERED: frozenset({S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.REFUSED, S.EXPIRED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.REFUSED}),
    **{final: frozenset() for final in FINAL},
}
RESULT_STATES = {"succeeded": S.SUCCEEDED, "failed": S.FAILED, "cancelled": S.CANCELLED}

# The agent accepts an envelope up to 30 s after its expiry (clock skew); a DELIVERED action is given the
# same allowance before the control plane calls it expired.
DELIVERED_GRACE = timedelta(seconds=30)
PROGRESS_EVENT_INTERVAL = timedelta(seconds=1)
OUTPUT_TAIL_CHARS = 8000
MIN_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS = 10, 7 * 24 * 3600


class ActionError(DomainError):
    code = "AGENT_ACTION_INVALID"


def check_transition(current: ActionState, target: ActionState) -> None:
    if target not in TRANSITIONS[current]:
        raise ActionError(
            f"an action cannot go from {current} to {target}",
            code="AGENT_ACTION_TRANSITION_ILLEGAL",
            current=str(current),
            target=str(target),
        )


@dataclass(frozen=True)
class ActionAggregate:
    exists: bool = False
    state: ActionState = S.PENDING
    agent_id: str = ""
    expires_at: str = ""
    cancel_requested: bool = False
    started_at: str = ""  # first progress
    last_progress_at: str = ""  # recorded time of the last action_progressed event
    last_message: str = ""
    last_percent: int | None = None


def request(
    state: ActionAggregate,
    *,
    action_id: str,
    agent_id: str,
    action_type: str,
    params: dict,
    key: str,
    nonce: str,
    now: datetime,
    expires_in_seconds: int,
    operation_id: str = "",
    step_key: str = "",
) -> list[object]:
    if state.exists:
        return []  # same key, same action: nothing new
    if not MIN_EXPIRY_SECONDS <= expires_in_seconds <= MAX_EXPIRY_SECONDS:
        raise ActionError(
            f"expires_in_seconds is {MIN_EXPIRY_SECONDS}..{MAX_EXPIRY_SECONDS}",
            code="AGENT_ACTION_EXPIRY_INVALID",
            field="expires_in_seconds",
        )
    if not key or len(key) > 200:
        raise ActionError("key is 1..200 characters", code="AGENT_ACTION_KEY_INVALID", field="key")
    return [
        ActionRequested(
            action_id=action_id,
            agent_id=agent_id,
            action_type=action_type,
            params=check_params(action_type, params),
            key=key,
            nonce=nonce,
            issued_at=now.isoformat(),
            expires_at=(now + timedelta(seconds=expires_in_seconds)).isoformat(),
            operation_id=operation_id[:64],
            step_key=step_key[:200],
        )
    ]


def deliver(state: ActionAggregate, *, action_id: str, key_id: str) -> list[object]:
    _require(state, action_id)
    if state.state != S.PENDING:
        return []  # a redelivery of the same envelope is not news
    return [ActionDelivered(action_id=action_id, key_id=key_id)]


def progress(
    state: ActionAggregate, *, action_id: str, seq: int, percent: int | None, message: str, now: datetime
) -> list[object]:
    """The first progress moves a DELIVERED action to RUNNING; later ones become events only when the message
    or percent changed, at most one a second (output chunks are stored apart, never as events)."""
    _require(state, action_id)
    if state.state in FINAL:
        return []
    event = ActionProgressed(action_id=action_id, seq=seq, percent=percent, message=message[:500])
    if state.state != S.RUNNING:
        check_transition(state.state, S.RUNNING)
        return [event]
    if message[:500] == state.last_message and percent == state.last_percent:
        return []
    if state.last_progress_at and now - datetime.fromisoformat(state.last_progress_at) < PROGRESS_EVENT_INTERVAL:
        return []
    return [event]


def finish(
    state: ActionAggregate,
    *,
    action_id: str,
    status: str,
    exit_code: int | None,
    data: dict,
    error_code: str,
    error_message: str,
    output_tail: str,
    started_at: str,
    finished_at: str,
) -> list[object]:
    """The agent's result. A result for a finished action is acknowledged and changes nothing."""
    _require(state, action_id)
    if status not in RESULT_STATES:
        raise ActionError("status is succeeded, failed or cancelled", code="AGENT_RESULT_INVALID", field="status")
    if state.state in FINAL:
        return []
    target = RESULT_STATES[status]
    check_transition(state.state, target)
    started = started_at or state.started_at
    tail = output_tail[-OUTPUT_TAIL_CHARS:]
    if target == S.SUCCEEDED:
        return [
            ActionSucceeded(
                action_id=action_id,
                exit_code=exit_code,
                data=data,
                output_tail=tail,
                started_at=started,
                finished_at=finished_at,
            )
        ]
    if target == S.CANCELLED:
        return [
            ActionCancelled(
                action_id=action_id, data=data, output_tail=tail, started_at=started, finished_at=finished_at
            )
        ]
    return [
        ActionFailed(
            action_id=action_id,
            exit_code=exit_code,
            data=data,
            error_code=(error_code or "AGENT_ACTION_FAILED")[:64],
            error_message=error_message[:2000],
            output_tail=tail,
            started_at=started,
            finished_at=finished_at,
        )
    ]


def refuse(state: ActionAggregate, *, action_id: str, code: str, message: str) -> list[object]:
    _require(state, action_id)
    if state.state in FINAL:
        return []
    check_transition(state.state, S.REFUSED)
    return [ActionRefused(action_id=action_id, code=code[:64], message=message[:2000])]


def request_cancel(state: ActionAggregate, *, action_id: str) -> list[object]:
    """PENDING: cancelled at once (the agent never sees it). DELIVERED/RUNNING: the agent is told in its next
    progress answer and reports ``cancelled``. Finished, or asked before: nothing."""
    _require(state, action_id)
    if state.state in FINAL or state.cancel_requested:
        return []
    events: list[object] = [ActionCancelRequested(action_id=action_id)]
    if state.state == S.PENDING:
        events.append(ActionCancelled(action_id=action_id, data={}, output_tail="", started_at="", finished_at=""))
    return events


def expired(state: ActionAggregate, now: datetime) -> bool:
    if not state.exists or state.state not in (S.PENDING, S.DELIVERED):
        return False
    deadline = datetime.fromisoformat(state.expires_at)
    if state.state == S.DELIVERED:
        deadline += DELIVERED_GRACE
    return now >= deadline


def expire(state: ActionAggregate, *, action_id: str, now: datetime) -> list[object]:
    _require(state, action_id)
    if not expired(state, now):
        return []
    return [ActionExpired(action_id=action_id, state=str(state.state))]


def _require(state: ActionAggregate, action_id: str) -> None:
    if not state.exists:
        raise ActionError("no such action", code="AGENT_ACTION_NOT_FOUND", action_id=action_id)


def evolve(state: ActionAggregate, event: Any) -> ActionAggregate:
    data = event.data
    if isinstance(data, ActionRequested):
        return ActionAggregate(exists=True, state=S.PENDING, agent_id=data.agent_id, expires_at=data.expires_at)
    if isinstance(data, ActionDelivered):
        return replace(state, state=S.DELIVERED)
    if isinstance(data, ActionProgressed):
        at = event.recorded_at.isoformat()
        return replace(
            state,
            state=S.RUNNING,
            started_at=state.started_at or at,
            last_progress_at=at,
            last_message=data.message,
            last_percent=data.percent,
        )
    if isinstance(data, ActionCancelRequested):
        return replace(state, cancel_requested=True)
    final = {
        ActionSucceeded: S.SUCCEEDED,
        ActionFailed: S.FAILED,
        ActionCancelled: S.CANCELLED,
        ActionRefused: S.REFUSED,
        ActionExpired: S.EXPIRED,
    }.get(type(data))
    if final is not None:
        return replace(state, state=final)
    return state


def to_snapshot(state: ActionAggregate) -> dict[str, Any]:
    snap = {k: getattr(state, k) for k in ActionAggregate.__dataclass_fields__}
    snap["state"] = str(state.state)
    return snap


def from_snapshot(data: dict[str, Any]) -> ActionAggregate:
    return ActionAggregate(**{**data, "state": ActionState(data["state"])})
