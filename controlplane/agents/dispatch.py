"""The interface operations use to run actions on agents. Stable: controlplane/operations codes against exactly
these functions (docs/AGENTS.md, "For operations")."""

from __future__ import annotations

from controlplane.agents import actions, selectors
from controlplane.agents.selectors import ActionView, AgentView
from controlplane.eventlog.metadata import Metadata

__all__ = ["ActionView", "AgentView", "agents_for_cluster", "get_action", "request_action", "request_cancel"]


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
    AGENT_ACTION_EXPIRY_INVALID, AGENT_ACTION_KEY_REUSED (the key names an action of another type or agent), and
    the writer's refusals (PERMISSION_DENIED, NOT_FOUND for metadata of another tenant)."""
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
    return selectors.action_view_for_system(action_id)


def request_cancel(*, metadata: Metadata, action_id: str) -> None:
    """Ask for a cancel: a queued action is CANCELLED at once; a delivered or running one is told through the
    agent's next progress answer and ends CANCELLED when the agent reports it. Finished: nothing happens."""
    actions.do_request_cancel(metadata=metadata, action_id=action_id)


def agents_for_cluster(tenant_id: str, cluster_id: str) -> list[AgentView]:
    """The agents registered for a cluster (revoked ones included, with that status), by hostname."""
    return selectors.cluster_agents_for_system(tenant_id, cluster_id)
