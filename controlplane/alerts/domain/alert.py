"""The alert aggregate: one stream per fingerprint, firing episodes numbered (ADR 0034). Pure: no Django.

INACTIVE (never fired) -> FIRING -> RESOLVED -> FIRING (the next episode) ... Firing while firing and resolving
while resolved change nothing (deduplication by fingerprint). An acknowledgement belongs to its episode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from controlplane.alerts.domain.errors import AlertInputInvalid, AlertNotFiring, AlertNotFound, AlertTransitionIllegal
from controlplane.alerts.domain.events import (
    AlertAcknowledged,
    AlertFired,
    AlertReminded,
    AlertResolved,
    AlertSuppressionChanged,
    AlertView,
)


class AlertStatus(StrEnum):
    INACTIVE = "inactive"
    FIRING = "firing"
    RESOLVED = "resolved"


TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.INACTIVE: frozenset({AlertStatus.FIRING}),
    AlertStatus.FIRING: frozenset({AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset({AlertStatus.FIRING}),
}

VIEW_FIELDS = tuple(f.name for f in dataclasses.fields(AlertView))
MAX_COMMENT = 1000


@dataclass(frozen=True)
class Firing:
    """What fires: everything of the view but the episode, status, times and muting, which the aggregate sets."""

    fingerprint: str
    source: str
    rule_id: str
    rule_name: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    channel_ids: list[str]
    group_key: str
    repeat_interval_seconds: int


@dataclass(frozen=True)
class AlertState:
    status: AlertStatus = AlertStatus.INACTIVE
    tenant_id: str = ""
    workspace_id: str = ""
    view: dict[str, Any] = dataclasses.field(default_factory=dict)
    acknowledged_by: str = ""
    last_notice_at: str = ""  # when a notice was last due (fired, unmuted, reminded) while not muted

    def view_as(self, **changes: Any) -> dict[str, Any]:
        return {**self.view, **changes}


def _check(current: AlertStatus, target: AlertStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise AlertTransitionIllegal(f"an alert cannot go from {current} to {target}", current=str(current))


def fire(
    state: AlertState,
    firing: Firing,
    *,
    tenant_id: str,
    workspace_id: str,
    starts_at: datetime,
    silenced_by: list[str],
    inhibited_by: list[str],
) -> list[object]:
    if state.status == AlertStatus.FIRING:
        return []  # the same alert, still firing: deduplicated
    if state.status == AlertStatus.RESOLVED and starts_at < datetime.fromisoformat(state.view["ends_at"]):
        return []  # older than the last resolution (a replayed or late event): no new episode from the past
    _check(state.status, AlertStatus.FIRING)
    episode = int(state.view.get("episode", 0)) + 1
    return [
        AlertFired(
            **dataclasses.asdict(firing),
            episode=episode,
            status=str(AlertStatus.FIRING),
            starts_at=starts_at.isoformat(),
            ends_at=None,
            silenced_by=silenced_by,
            inhibited_by=inhibited_by,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
        )
    ]


def resolve(state: AlertState, *, ends_at: datetime, reason: str) -> list[object]:
    if state.status != AlertStatus.FIRING:
        return []  # resolved already, or never fired
    if ends_at < datetime.fromisoformat(state.view["starts_at"]):
        return []  # a clearing older than this episode's start does not end it
    _check(state.status, AlertStatus.RESOLVED)
    return [
        AlertResolved(**state.view_as(status=str(AlertStatus.RESOLVED), ends_at=ends_at.isoformat()), reason=reason)
    ]


def acknowledge(state: AlertState, *, by: str, at: datetime, comment: str) -> list[object]:
    if state.status == AlertStatus.INACTIVE:
        raise AlertNotFound("no such alert", fingerprint=state.view.get("fingerprint", ""))
    if state.status != AlertStatus.FIRING:
        raise AlertNotFiring("only a firing alert can be acknowledged", fingerprint=state.view["fingerprint"])
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise AlertInputInvalid(f"comment must be text of at most {MAX_COMMENT} characters", field="comment")
    if state.acknowledged_by:
        return []  # this episode is acknowledged already
    return [AlertAcknowledged(**state.view, acknowledged_by=by, acknowledged_at=at.isoformat(), comment=comment)]


def set_muting(state: AlertState, *, silenced_by: list[str], inhibited_by: list[str]) -> list[object]:
    if state.status != AlertStatus.FIRING:
        return []
    if state.view["silenced_by"] == silenced_by and state.view["inhibited_by"] == inhibited_by:
        return []
    return [AlertSuppressionChanged(**state.view_as(silenced_by=silenced_by, inhibited_by=inhibited_by))]


def remind(state: AlertState, *, now: datetime) -> list[object]:
    """A reminder when a firing, unmuted, unacknowledged alert has had no notice for its repeat interval."""
    if state.status != AlertStatus.FIRING or state.acknowledged_by or not state.last_notice_at:
        return []
    if state.view["silenced_by"] or state.view["inhibited_by"]:
        return []
    due = datetime.fromisoformat(state.last_notice_at) + timedelta(seconds=state.view["repeat_interval_seconds"])
    return [AlertReminded(**state.view)] if now >= due else []


def _view(data: AlertView) -> dict[str, Any]:
    return {name: getattr(data, name) for name in VIEW_FIELDS}


def evolve(state: AlertState, event: Any) -> AlertState:
    data = event.data
    at = event.recorded_at.isoformat()
    if isinstance(data, AlertFired):
        return AlertState(
            status=AlertStatus.FIRING,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            view=_view(data),
            last_notice_at=at if data.notify else "",
        )
    if isinstance(data, AlertResolved):
        return replace(state, status=AlertStatus.RESOLVED, view=_view(data))
    if isinstance(data, AlertAcknowledged):
        return replace(state, acknowledged_by=data.acknowledged_by)
    if isinstance(data, AlertSuppressionChanged):
        unmuted = data.notify and not (state.view["silenced_by"] or state.view["inhibited_by"])
        return replace(state, view=_view(data), last_notice_at=at if unmuted else state.last_notice_at)
    if isinstance(data, AlertReminded):
        return replace(state, last_notice_at=at)
    return state


def to_snapshot(state: AlertState) -> dict[str, Any]:
    return {**dataclasses.asdict(state), "status": str(state.status)}


def from_snapshot(data: dict[str, Any]) -> AlertState:
    return AlertState(**{**data, "status": AlertStatus(data["status"])})
