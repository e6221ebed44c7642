"""Events of the agents context (wire names are stable). Streams: one per bootstrap token, one per agent,
one per action. No secret, token or credential hash is ever a payload field."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


# -- bootstrap tokens (stream agents.bootstrap_token / bootstrap-token-<id>) -----------------------------------
@event_type("agents.bootstrap_token_issued")
@dataclass(frozen=True)
class BootstrapTokenIssued:
    token_id: str
    tenant_id: str
    workspace_id: str
    cluster_id: str  # "" when the agent is not bound to a cluster yet
    expires_at: str  # ISO 8601 UTC
    description: str


@event_type("agents.bootstrap_token_revoked")
@dataclass(frozen=True)
class BootstrapTokenRevoked:
    token_id: str


@event_type("agents.bootstrap_token_used")
@dataclass(frozen=True)
class BootstrapTokenUsed:
    token_id: str
    agent_id: str


# -- agents (stream agents.agent / agent-<id>) -----------------------------------------------------------------
@event_type("agents.agent_registered")
@dataclass(frozen=True)
class AgentRegistered:
    agent_id: str
    tenant_id: str
    workspace_id: str
    cluster_id: str
    token_id: str  # the bootstrap token it registered with
    hostname: str
    agent_version: str
    member_address: str  # host:port of the SeaTunnel member it supervises
    allowlist: list[str]  # action types the agent says it will run
    facts: dict


@event_type("agents.agent_online")
@dataclass(frozen=True)
class AgentOnline:
    agent_id: str
    previous: str  # stale | lost


@event_type("agents.agent_stale")
@dataclass(frozen=True)
class AgentStale:
    agent_id: str
    last_heartbeat_at: str


@event_type("agents.agent_lost")
@dataclass(frozen=True)
class AgentLost:
    agent_id: str
    last_heartbeat_at: str


@event_type("agents.agent_revoked")
@dataclass(frozen=True)
class AgentRevoked:
    agent_id: str
    reason: str


# -- actions (stream agents.action / action-<id>) --------------------------------------------------------------
@event_type("agents.action_requested")
@dataclass(frozen=True)
class ActionRequested:
    action_id: str
    agent_id: str
    action_type: str
    params: dict
    key: str  # the caller's idempotency key; the id is derived from it
    nonce: str  # 16 random bytes, base64: part of the signed envelope
    issued_at: str  # ISO 8601 UTC
    expires_at: str  # ISO 8601 UTC
    operation_id: str
    step_key: str


@event_type("agents.action_delivered")
@dataclass(frozen=True)
class ActionDelivered:
    action_id: str
    key_id: str  # the signing key the envelope was signed with


@event_type("agents.action_progressed")
@dataclass(frozen=True)
class ActionProgressed:
    action_id: str
    seq: int
    percent: int | None
    message: str


@event_type("agents.action_succeeded")
@dataclass(frozen=True)
class ActionSucceeded:
    action_id: str
    exit_code: int | None
    data: dict
    output_tail: str  # the last lines of output, at most 8,000 characters
    started_at: str
    finished_at: str


@event_type("agents.action_failed")
@dataclass(frozen=True)
class ActionFailed:
    action_id: str
    exit_code: int | None
    data: dict
    error_code: str
    error_message: str
    output_tail: str
    started_at: str
    finished_at: str


@event_type("agents.action_cancel_requested")
@dataclass(frozen=True)
class ActionCancelRequested:
    action_id: str


@event_type("agents.action_cancelled")
@dataclass(frozen=True)
class ActionCancelled:
    action_id: str
    data: dict
    output_tail: str  # the last lines of output, at most 8,000 characters
    started_at: str
    finished_at: str


@event_type("agents.action_refused")
@dataclass(frozen=True)
class ActionRefused:
    action_id: str
    code: str  # AGENT_SIGNATURE_INVALID, AGENT_ACTION_EXPIRED, ... (docs/AGENT_PROTOCOL.md)
    message: str


@event_type("agents.action_expired")
@dataclass(frozen=True)
class ActionExpired:
    action_id: str
    state: str  # the state it expired in: PENDING | DELIVERED
