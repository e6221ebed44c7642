"""The interface operations use to run actions on agents. Stable: controlplane/operations codes
against exactly these functions (docs/AGENTS.md, "For operations")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controlplane.agents import actions
from controlplane.agents.domain.action import FINAL
from controlplane.agents.models import Action, Agent, AgentLiveness
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata


@dataclass(frozen=True)
class ActionView:
    id: str
    agent_id: str
    type: str
    state: str  # PENDING | DELIVERED | RUNNING | SUCCEEDED | FAILED | CANCELLED | REFUSED | EXPIRED
    result: dict
    error_code: str
    error_message: str
    output_tail: str
    finished: bool


@dataclass(frozen=True)
class AgentView:
    id: str
    hostname: str
    member_address: str
    status: str  # online | stale | lost | revoked
    last_heartbeat_at: datetime | None


def request_action(
    *,
    metadata: Metadata,
    agent_id: str,
    action_type: str,
    params: dict,
    key: str,
    expires_in_seconds: int = 600,
    operation_id: str = "",
    step_key: str = "",
) -> str:
    """Queue an action; returns its id. The id is derived from ``key`` (uuid5, within the agent's tenant): the
    same key again returns the same id and writes nothing. Errors (DomainError codes): AGENT_NOT_FOUND,
    AGENT_REVOKED, AGENT_ACTION_TYPE_UNKNOWN, AGENT_ACTION_NOT_ALLOWED, AGENT_PARAMS_INVALID,
    AGENT_ACTION_EXPIRY_INVALID, AGENT_ACTION_KEY_REUSED (the key names an action of another type or agent)."""
    return actions.do_request_action(
        metadata=metadata,
        agent_id=agent_id,
        action_type=action_type,
        params=params,
        key=key,
        expires_in_seconds=expires_in_seconds,
        operation_id=operation_id,
        step_key=step_key,
    )


def get_action(action_id: str) -> ActionView:
    """The action as it stands; AGENT_ACTION_NOT_FOUND for an unknown id."""
    row = Action.unscoped.filter(id=action_id).first()
    if row is None:
        raise DomainError("no such action", code="AGENT_ACTION_NOT_FOUND", action_id=action_id)
    return ActionView(
        id=row.id,
        agent_id=row.agent_id,
        type=row.type,
        state=row.state,
        result=dict(row.result or {}),
        error_code=row.error_code,
        error_message=row.error_message,
        output_tail=row.output_tail,
        finished=row.state in FINAL,
    )


def request_cancel(*, metadata: Metadata, action_id: str) -> None:
    """Ask for a cancel: a queued action is CANCELLED at once; a delivered or running one is told through the
    agent's next progress answer and ends CANCELLED when the agent reports it. Finished: nothing happens."""
    actions.do_request_cancel(metadata=metadata, action_id=action_id)


def agents_for_cluster(tenant_id: str, cluster_id: str) -> list[AgentView]:
    """The agents registered for a cluster (revoked ones included, with that status), by hostname."""
    rows = list(Agent.unscoped.filter(tenant_id=tenant_id, cluster_id=cluster_id).order_by("hostname", "id"))
    seen = dict(
        AgentLiveness.unscoped.filter(agent_id__in=[r.id for r in rows]).values_list("agent_id", "last_heartbeat_at")
    )
    return [
        AgentView(
            id=r.id,
            hostname=r.hostname,
            member_address=r.member_address,
            status=r.status,
            last_heartbeat_at=seen.get(r.id),
        )
        for r in rows
    ]
