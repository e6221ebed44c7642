"""Readers of agents for other apps and the API."""

from __future__ import annotations

from controlplane.agents.models import Agent, AgentLiveness


def agent_for_member(tenant_id: str, cluster_id: str, address: str) -> Agent | None:
    """The live (not revoked) agent supervising a cluster member, linked by ``member_address``."""
    return (
        Agent.unscoped.filter(tenant_id=tenant_id, cluster_id=cluster_id, member_address=address)
        .exclude(status="revoked")
        .order_by("-registered_at")
        .first()
    )


def agents_by_member(tenant_id: str, cluster_id: str) -> dict[str, Agent]:
    """member address -> its live agent, for a page of a cluster's nodes in one query."""
    rows = (
        Agent.unscoped.filter(tenant_id=tenant_id, cluster_id=cluster_id)
        .exclude(status="revoked")
        .exclude(member_address="")
        .order_by("registered_at")
    )
    return {agent.member_address: agent for agent in rows}  # the newest wins


def liveness_of(agent_ids: list[str]) -> dict[str, AgentLiveness]:
    return {row.agent_id: row for row in AgentLiveness.unscoped.filter(agent_id__in=agent_ids)}


def agent_payload(agent: Agent | None) -> dict | None:
    """The node's agent, linked by the member address it reported at registration (docs/AGENTS.md)."""
    return {"id": agent.id, "hostname": agent.hostname, "status": agent.status} if agent is not None else None
