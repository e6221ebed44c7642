"""Silences: matchers and a time window that mute matching alerts. Pure: no Django.

ACTIVE -> ENDED (a person ends it early) | EXPIRED (its end passed). A silence whose start is still ahead is
ACTIVE but mutes nothing yet. A silence needs an end: one without is ALERT_SILENCE_INVALID.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from controlplane.alerts.domain.errors import AlertSilenceEnded, AlertSilenceInvalid, AlertSilenceNotFound
from controlplane.alerts.domain.events import SilenceCreated, SilenceEnded, SilenceExpired
from controlplane.alerts.domain.matching import parse_matchers
from controlplane.eventlog.errors import ConcurrencyConflict

MAX_REASON = 1000
MAX_LENGTH = timedelta(days=366)


class SilenceStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    EXPIRED = "expired"


TRANSITIONS: dict[SilenceStatus, frozenset[SilenceStatus]] = {
    SilenceStatus.ACTIVE: frozenset({SilenceStatus.ENDED, SilenceStatus.EXPIRED}),
    SilenceStatus.ENDED: frozenset(),
    SilenceStatus.EXPIRED: frozenset(),
}


def parse_time(value: object, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise AlertSilenceInvalid(f"{field} is required: an ISO 8601 time with its offset", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AlertSilenceInvalid(f"{field} is not an ISO 8601 time", field=field) from None
    if parsed.tzinfo is None:
        raise AlertSilenceInvalid(f"{field} needs a time zone offset (Z or +hh:mm)", field=field)
    return parsed


@dataclass(frozen=True)
class SilenceState:
    exists: bool = False
    status: SilenceStatus = SilenceStatus.ACTIVE
    silence_id: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    ends_at: str = ""


def create_silence(
    state: SilenceState,
    *,
    silence_id: str,
    tenant_id: str,
    workspace_id: str,
    raw: dict[str, Any],
    author: str,
    now: datetime,
) -> list[object]:
    if state.exists:
        raise ConcurrencyConflict(f"silence {silence_id} already exists", stream_id=f"silence-{silence_id}")
    unknown = sorted(set(raw) - {"matchers", "starts_at", "ends_at", "reason"})
    if unknown:
        raise AlertSilenceInvalid(f"{unknown[0]} cannot be set", field=unknown[0])
    matchers = parse_matchers(raw.get("matchers"), error=AlertSilenceInvalid, field="matchers", allow_empty=False)
    starts_at = parse_time(raw["starts_at"], "starts_at") if raw.get("starts_at") is not None else now
    ends_at = parse_time(raw.get("ends_at"), "ends_at")
    if ends_at <= starts_at or ends_at <= now:
        raise AlertSilenceInvalid("ends_at must be after starts_at and in the future", field="ends_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise AlertSilenceInvalid("a silence lasts at most 366 days", field="ends_at")
    reason = raw.get("reason", "")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise AlertSilenceInvalid(f"reason is required, at most {MAX_REASON} characters", field="reason")
    return [
        SilenceCreated(
            silence_id=silence_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            matchers=[m.to_dict() for m in matchers],
            starts_at=starts_at.isoformat(),
            ends_at=ends_at.isoformat(),
            author=author,
            reason=reason,
        )
    ]


def _require_active(state: SilenceState) -> None:
    if not state.exists:
        raise AlertSilenceNotFound("no such silence", silence_id=state.silence_id)
    if state.status != SilenceStatus.ACTIVE:
        raise AlertSilenceEnded(f"the silence is {state.status} already", silence_id=state.silence_id)


def end_silence(state: SilenceState, *, by: str, now: datetime) -> list[object]:
    _require_active(state)
    return [SilenceEnded(silence_id=state.silence_id, ended_by=by, ended_at=now.isoformat())]


def expire_silence(state: SilenceState, *, now: datetime) -> list[object]:
    """Nothing when it ended already or its end is still ahead (the evaluator may see a stale list)."""
    if not state.exists or state.status != SilenceStatus.ACTIVE or datetime.fromisoformat(state.ends_at) > now:
        return []
    return [SilenceExpired(silence_id=state.silence_id, expired_at=now.isoformat())]


def evolve(state: SilenceState, event: Any) -> SilenceState:
    data = event.data
    if isinstance(data, SilenceCreated):
        return SilenceState(
            exists=True,
            silence_id=data.silence_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            ends_at=data.ends_at,
        )
    if isinstance(data, SilenceEnded):
        return replace(state, status=SilenceStatus.ENDED)
    if isinstance(data, SilenceExpired):
        return replace(state, status=SilenceStatus.EXPIRED)
    return state


def to_snapshot(state: SilenceState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "status": str(state.status),
        "silence_id": state.silence_id,
        "tenant_id": state.tenant_id,
        "workspace_id": state.workspace_id,
        "ends_at": state.ends_at,
    }


def from_snapshot(data: dict[str, Any]) -> SilenceState:
    return SilenceState(**{**data, "status": SilenceStatus(data["status"])})
