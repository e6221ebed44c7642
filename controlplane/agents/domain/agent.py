"""The agent aggregate (pure): registration, liveness transitions and revocation, with the bootstrap token's
own small aggregate. Statuses move only along ``TRANSITIONS``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.agents.domain.events import (
    AgentLost,
    AgentOnline,
    AgentRegistered,
    AgentRevoked,
    AgentStale,
    BootstrapTokenIssued,
    BootstrapTokenRevoked,
    BootstrapTokenUsed,
)
from controlplane.errors import DomainError

ONLINE, STALE, LOST, REVOKED = "online", "stale", "lost", "revoked"
STATUSES = (ONLINE, STALE, LOST, REVOKED)

# status -> the statuses it may move to. Revoked is final: a revoked credential never works again.
TRANSITIONS: dict[str, frozenset[str]] = {
    ONLINE: frozenset({STALE, LOST, REVOKED}),
    STALE: frozenset({ONLINE, LOST, REVOKED}),
    LOST: frozenset({ONLINE, REVOKED}),
    REVOKED: frozenset(),
}

STALE_AFTER_INTERVALS = 3
LOST_AFTER_INTERVALS = 10
MAX_TOKEN_SECONDS = 30 * 24 * 3600
_ADDRESS = re.compile(r"^[A-Za-z0-9_.:\[\]-]{1,250}:[0-9]{1,5}$")


class AgentError(DomainError):
    code = "AGENT_INVALID"


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise AgentError(
            f"an agent cannot go from {current} to {target}",
            code="AGENT_TRANSITION_ILLEGAL",
            current=current,
            target=target,
        )


# -- bootstrap tokens ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenState:
    exists: bool = False
    used: bool = False
    revoked: bool = False
    expires_at: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    cluster_id: str = ""


def issue_token(
    state: TokenState,
    *,
    token_id: str,
    tenant_id: str,
    workspace_id: str,
    cluster_id: str,
    now: datetime,
    expires_in_seconds: int,
    description: str = "",
) -> list[object]:
    if state.exists:
        raise AgentError("bootstrap token exists", code="AGENT_BOOTSTRAP_TOKEN_EXISTS")
    if not 60 <= expires_in_seconds <= MAX_TOKEN_SECONDS:
        raise AgentError(
            f"expires_in_seconds is 60..{MAX_TOKEN_SECONDS}",
            code="AGENT_BOOTSTRAP_TOKEN_EXPIRY_INVALID",
            field="expires_in_seconds",
        )
    return [
        BootstrapTokenIssued(
            token_id=token_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            cluster_id=cluster_id,
            expires_at=(now + timedelta(seconds=expires_in_seconds)).isoformat(),
            description=description[:200],
        )
    ]


def token_usable(state: TokenState, now: datetime) -> bool:
    return state.exists and not state.used and not state.revoked and datetime.fromisoformat(state.expires_at) > now


def use_token(state: TokenState, *, token_id: str, agent_id: str, now: datetime) -> list[object]:
    if not token_usable(state, now):
        raise AgentError(
            "the bootstrap token is unknown, used, revoked or expired", code="AGENT_BOOTSTRAP_TOKEN_INVALID"
        )
    return [BootstrapTokenUsed(token_id=token_id, agent_id=agent_id)]


def revoke_token(state: TokenState, *, token_id: str) -> list[object]:
    if not state.exists:
        raise AgentError("no such bootstrap token", code="AGENT_BOOTSTRAP_TOKEN_NOT_FOUND")
    if state.revoked:
        return []
    if state.used:
        raise AgentError(
            "the token was used already; revoke the agent it registered instead", code="AGENT_BOOTSTRAP_TOKEN_USED"
        )
    return [BootstrapTokenRevoked(token_id=token_id)]


def evolve_token(state: TokenState, event: Any) -> TokenState:
    data = event.data
    if isinstance(data, BootstrapTokenIssued):
        return TokenState(
            exists=True,
            expires_at=data.expires_at,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            cluster_id=data.cluster_id,
        )
    if isinstance(data, BootstrapTokenUsed):
        return replace(state, used=True)
    if isinstance(data, BootstrapTokenRevoked):
        return replace(state, revoked=True)
    return state


# -- agents ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentState:
    exists: bool = False
    status: str = ""
    allowlist: tuple[str, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)


def check_member_address(address: str) -> str:
    address = address.strip()
    if address and not _ADDRESS.match(address):
        raise AgentError("member_address is host:port", code="AGENT_MEMBER_ADDRESS_INVALID", field="member_address")
    return address


def register(
    state: AgentState,
    *,
    agent_id: str,
    tenant_id: str,
    workspace_id: str,
    cluster_id: str,
    token_id: str,
    hostname: str,
    agent_version: str,
    member_address: str,
    allowlist: list[str],
    facts: dict,
) -> list[object]:
    if state.exists:
        raise AgentError("agent exists", code="AGENT_EXISTS")
    hostname = hostname.strip()
    if not hostname or len(hostname) > 253:
        raise AgentError("hostname is 1..253 characters", code="AGENT_HOSTNAME_INVALID", field="hostname")
    if not isinstance(allowlist, list) or not all(isinstance(t, str) for t in allowlist):
        raise AgentError("allowlist is a list of action types", code="AGENT_ALLOWLIST_INVALID", field="allowlist")
    # A type this control plane does not know is refused: the agent and the control plane must agree on what it
    # runs (an agent newer than the control plane registers after the control plane is upgraded).
    unknown = sorted({t for t in allowlist if t not in ACTION_TYPES})
    if unknown:
        raise AgentError(
            f"unknown action type(s) in the allowlist: {', '.join(unknown)[:500]}",
            code="AGENT_ACTION_TYPE_UNKNOWN",
            field="allowlist",
        )
    known = sorted(set(allowlist))
    return [
        AgentRegistered(
            agent_id=agent_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            cluster_id=cluster_id,
            token_id=token_id,
            hostname=hostname,
            agent_version=str(agent_version)[:64],
            member_address=check_member_address(member_address),
            allowlist=known,
            facts=facts if isinstance(facts, dict) else {},
        )
    ]


def liveness_target(status: str, last_heartbeat_at: datetime, now: datetime, interval_seconds: int) -> str | None:
    """The status the time since the last heartbeat implies, or None when nothing changes."""
    if status == REVOKED:
        return None
    silent = (now - last_heartbeat_at).total_seconds()
    if silent >= LOST_AFTER_INTERVALS * interval_seconds:
        target = LOST
    elif silent >= STALE_AFTER_INTERVALS * interval_seconds:
        target = STALE
    else:
        return None  # coming back online is the heartbeat's business, not the clock's
    if target == status or target not in TRANSITIONS[status]:
        return None
    return target


def observe_silence(
    state: AgentState, *, agent_id: str, last_heartbeat_at: datetime, now: datetime, interval_seconds: int
) -> list[object]:
    _require(state, agent_id)
    target = liveness_target(state.status, last_heartbeat_at, now, interval_seconds)
    if target is None:
        return []
    seen = last_heartbeat_at.isoformat()
    if target == STALE:
        return [AgentStale(agent_id=agent_id, last_heartbeat_at=seen)]
    return [AgentLost(agent_id=agent_id, last_heartbeat_at=seen)]


def heard(state: AgentState, *, agent_id: str) -> list[object]:
    """A heartbeat arrived: a stale or lost agent is online again (an online one changes nothing)."""
    _require(state, agent_id)
    if state.status in (STALE, LOST):
        check_transition(state.status, ONLINE)
        return [AgentOnline(agent_id=agent_id, previous=state.status)]
    return []


def revoke(state: AgentState, *, agent_id: str, reason: str) -> list[object]:
    _require(state, agent_id)
    if state.status == REVOKED:
        return []
    check_transition(state.status, REVOKED)
    return [AgentRevoked(agent_id=agent_id, reason=reason[:200])]


def _require(state: AgentState, agent_id: str) -> None:
    if not state.exists:
        raise AgentError("no such agent", code="AGENT_NOT_FOUND", agent_id=agent_id)


def evolve(state: AgentState, event: Any) -> AgentState:
    data = event.data
    if isinstance(data, AgentRegistered):
        fields = {k: getattr(data, k) for k in ("tenant_id", "workspace_id", "cluster_id", "member_address")}
        return AgentState(exists=True, status=ONLINE, allowlist=tuple(data.allowlist), fields=fields)
    if isinstance(data, AgentOnline):
        return replace(state, status=ONLINE)
    if isinstance(data, AgentStale):
        return replace(state, status=STALE)
    if isinstance(data, AgentLost):
        return replace(state, status=LOST)
    if isinstance(data, AgentRevoked):
        return replace(state, status=REVOKED)
    return state


def to_snapshot(state: AgentState) -> dict[str, Any]:
    return {"exists": state.exists, "status": state.status, "allowlist": list(state.allowlist), "fields": state.fields}


def from_snapshot(data: dict[str, Any]) -> AgentState:
    return AgentState(
        exists=data["exists"], status=data["status"], allowlist=tuple(data["allowlist"]), fields=data["fields"]
    )


def token_to_snapshot(state: TokenState) -> dict[str, Any]:
    return {k: getattr(state, k) for k in TokenState.__dataclass_fields__}


def token_from_snapshot(data: dict[str, Any]) -> TokenState:
    return TokenState(**data)
