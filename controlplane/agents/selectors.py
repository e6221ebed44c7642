"""Readers of the agents context.

- For views of one tenant (the bound tenant context scopes them): ``agents_by_member``, ``liveness_get``,
  ``node_of``, ``cluster_installed_list`` (what each node of a cluster has installed, as its agent reports it).
- ``*_for_system``: work that crosses tenants because what it is given identifies the row, not a person: the
  agent API (the agent is identified by its credential), the liveness check, expiry, operations' dispatch.
- ``*_for_platform``: the console (platform staff see every tenant).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q, QuerySet

from controlplane.agents.domain.action import DELIVERED_GRACE, FINAL, ActionState
from controlplane.agents.domain.agent import LOST, REVOKED, AgentError
from controlplane.agents.domain.facts import NOT_REPORTED, Installed, installed_of
from controlplane.agents.models import Action, ActionArtifact, Agent, AgentLiveness, BootstrapToken
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Actor, Metadata

if TYPE_CHECKING:
    from datetime import timedelta

    from controlplane.clusters.models import Node

CREDENTIAL_PREFIX = "stag_"


def credential_digest(secret: str) -> str:
    """What is stored of a bootstrap token or an agent credential (256 random bits: a fast hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


# -- typed results -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuthenticatedAgent:
    """The agent a credential belongs to: who the agent API acts for."""

    id: str
    tenant_id: str
    workspace_id: str
    status: str

    def metadata(self, request_id: str = "", client_address: str = "") -> Metadata:
        return Metadata(
            tenant_id=self.tenant_id,
            workspace_id=self.workspace_id,
            actor=Actor(kind="agent", id=self.id),
            request_id=request_id[:64],
            correlation_id=request_id[:64],
            client_address=client_address[:64],
        )


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


@dataclass(frozen=True)
class SilentAgent:
    id: str
    tenant_id: str
    workspace_id: str
    last_heartbeat_at: datetime


@dataclass(frozen=True)
class NodeInstalled:
    """What one member of a cluster has installed: ``agent_id`` is its agent's (the newest not revoked on that
    member address), None when it has none; ``installed`` is that agent's last report."""

    address: str
    agent_id: str | None
    installed: Installed

    @property
    def unknown(self) -> str:
        """Why its connectors are not known, "" when they are: ``no_agent``; ``not_reported`` (an agent older than
        these facts); ``no_home`` (its agent has no [seatunnel] home); ``unreadable`` (it could not list
        connectors/)."""
        if self.agent_id is None:
            return "no_agent"
        if not self.installed.reported:
            return "not_reported"
        if self.installed.connector_jars is None:
            return "unreadable" if self.installed.seatunnel_home else "no_home"
        return ""


class AgentAuthError(AgentError):
    code = "AGENT_CREDENTIAL_INVALID"


# -- one tenant's views ------------------------------------------------------------------------------------------
def agents_by_member(tenant_id: str, cluster_id: str) -> dict[str, Agent]:
    """member address -> its live agent, for a page of a cluster's nodes in one query (bound tenant)."""
    rows = (
        Agent.objects.filter(tenant_id=tenant_id, cluster_id=cluster_id)
        .exclude(status=REVOKED)
        .exclude(member_address="")
        .order_by("registered_at")
    )
    return {agent.member_address: agent for agent in rows}  # the newest wins


def agent_payload(agent: Agent | None) -> dict | None:
    """The node's agent, linked by the member address it reported at registration (docs/AGENTS.md)."""
    return {"id": agent.id, "hostname": agent.hostname, "status": agent.status} if agent is not None else None


def cluster_installed_list(cluster_id: str) -> list[NodeInstalled]:
    """Per member address of the cluster (its nodes, and the agents whose node it does not list), by address:
    the jars of connectors/ and lib/ its agent last reported (bound tenant). Three queries."""
    from controlplane.clusters.models import Node

    agents = cluster_agent_list([cluster_id]).exclude(member_address="").order_by("registered_at")
    newest = {agent.member_address: agent.id for agent in agents}  # the newest wins
    facts = dict(AgentLiveness.objects.filter(agent_id__in=list(newest.values())).values_list("agent_id", "facts"))
    addresses = set(newest) | set(Node.objects.filter(cluster_id=cluster_id).values_list("address", flat=True))
    return [
        NodeInstalled(
            address=address,
            agent_id=newest.get(address),
            installed=installed_of(facts.get(newest[address])) if address in newest else NOT_REPORTED,
        )
        for address in sorted(addresses)
    ]


def operation_action_list(operation_id: str) -> QuerySet[Action]:
    """The agent actions an operation asked for (bound tenant), oldest first: each node's part of its steps."""
    return Action.objects.filter(operation_id=operation_id).order_by("created_at")


def cluster_agent_list(cluster_ids: list[str]) -> QuerySet[Agent]:
    """The agents registered for these clusters and not revoked, by host name (bound tenant)."""
    return Agent.objects.filter(cluster_id__in=cluster_ids).exclude(status=REVOKED).order_by("cluster_id", "hostname")


def lost_agent_list() -> QuerySet[Agent]:
    """Agents of the bound tenant and workspace that stopped answering (lost), longest silent first."""
    return Agent.objects.filter(status=LOST).order_by("status_since")


def liveness_get(agent_id: str) -> AgentLiveness | None:
    return AgentLiveness.objects.filter(agent_id=agent_id).first()


def liveness_list(agent_ids: list[str]) -> dict[str, AgentLiveness]:
    return {row.agent_id: row for row in AgentLiveness.objects.filter(agent_id__in=agent_ids)}


def node_of(agent: Agent) -> Node | None:
    """The cluster member the agent supervises, as the cluster's health poll knows it (bound tenant)."""
    from controlplane.clusters.models import Node

    if not agent.cluster_id or not agent.member_address:
        return None
    return Node.objects.filter(cluster_id=agent.cluster_id, address=agent.member_address).first()


# -- the agent API: the credential identifies the agent ----------------------------------------------------------
_AUTH_SQL = (
    "SELECT a.tenant_id, a.workspace_id, a.status, c.digest, t.disabled FROM agents_agent a "
    "JOIN agents_credential c ON c.id = %s JOIN tenancy_tenant t ON t.id = a.tenant_id WHERE a.id = %s"
)


def authenticated_agent_for_system(credential: str) -> AuthenticatedAgent:
    """The agent a credential belongs to. Unknown or wrong: AGENT_CREDENTIAL_INVALID; revoked: AGENT_REVOKED."""
    invalid = AgentAuthError("the agent credential is not valid")
    if not credential.startswith(CREDENTIAL_PREFIX):
        raise invalid
    agent_id, _, secret = credential.removeprefix(CREDENTIAL_PREFIX).partition("_")
    if not agent_id or not secret or len(agent_id) > 32:
        raise invalid
    # One query, the agent's row with its credential digest beside it; raw SQL because this runs for every
    # heartbeat and poll, and the ORM's compilation costs more than the query (docs/BENCHMARKS.md).
    with connection.cursor() as cursor:
        cursor.execute(_AUTH_SQL, [f"agent:{agent_id}", agent_id])
        agent = cursor.fetchone()
    if agent is None or agent[3] is None or not hmac.compare_digest(agent[3], credential_digest(credential)):
        raise invalid
    if agent[2] == REVOKED:
        raise AgentError("this agent's credential was revoked", code="AGENT_REVOKED")
    if agent[4]:  # as its users and tokens are: the agent waits (and backs off) until the tenant is enabled
        raise AgentError("the agent's tenant is disabled", code="TENANT_DISABLED")
    return AuthenticatedAgent(id=agent_id, tenant_id=agent[0], workspace_id=agent[1], status=agent[2])


def agent_owns_action_for_system(agent_id: str, action_id: str) -> bool:
    return Action.unscoped.filter(id=action_id, agent_id=agent_id).exists()


_CLAIMABLE_SQL = (
    "SELECT 1 FROM agents_action WHERE agent_id = %s AND ((state = 'PENDING' AND expires_at > %s) OR "
    "(state = 'DELIVERED' AND delivered_at < %s AND expires_at > %s))"
)


def claimable_actions_for_system(agent_id: str, now: datetime, redeliver_after: timedelta, limit: int) -> list[Action]:
    """The agent's queued actions, and those handed over earlier that never started, oldest first."""
    adapt = connection.ops.adapt_datetimefield_value
    # Asked by every poll and nearly always answered no: a raw existence check first.
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIMABLE_SQL, [agent_id, adapt(now), adapt(now - redeliver_after), adapt(now - DELIVERED_GRACE)]
        )
        if cursor.fetchone() is None:
            return []
    queued = Q(state=ActionState.PENDING, expires_at__gt=now)
    stuck = Q(state=ActionState.DELIVERED, delivered_at__lt=now - redeliver_after, expires_at__gt=now - DELIVERED_GRACE)
    return list(Action.unscoped.filter(queued | stuck, agent_id=agent_id).order_by("created_at")[:limit])


def agents_with_work_for_system(agent_ids: list[str]) -> set[str]:
    """Of these agents, those with a queued action (one query for every waiting poll of the process)."""
    if not agent_ids:
        return set()
    marks = ", ".join(["%s"] * len(agent_ids))  # raw: the ORM compiles a thousand-item IN list slowly
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT agent_id FROM agents_action WHERE state = 'PENDING' AND agent_id IN ({marks})",  # noqa: S608
            agent_ids,
        )
        return {row[0] for row in cursor.fetchall()}


def action_state_for_system(action_id: str) -> str:
    return Action.unscoped.filter(id=action_id).values_list("state", flat=True).first() or ""


# -- writers' look-ups and the periodic checks -------------------------------------------------------------------
def agent_for_system(agent_id: str) -> Agent | None:
    return Agent.unscoped.filter(id=agent_id).first()


def artifact_uploaded_for_system(action_id: str, sha256: str) -> bool:
    """The action's agent uploaded a file with this hash for it (a diagnostic bundle)."""
    return ActionArtifact.objects.filter(action_id=action_id, sha256=sha256).exists()


def action_for_system(action_id: str) -> Action | None:
    return Action.unscoped.filter(id=action_id).first()


def unfinished_actions_for_system(agent_id: str) -> list[tuple[str, str]]:
    """(id, state) of the agent's actions that have not ended."""
    rows = Action.unscoped.filter(agent_id=agent_id).exclude(state__in=[str(s) for s in FINAL])
    return list(rows.values_list("id", "state"))


def silent_agents_for_system(threshold: datetime, statuses: tuple[str, ...]) -> list[SilentAgent]:
    """Agents in one of ``statuses`` whose last heartbeat is at or before ``threshold``."""
    last_seen = dict(
        AgentLiveness.unscoped.filter(last_heartbeat_at__lte=threshold).values_list("agent_id", "last_heartbeat_at")
    )
    if not last_seen:
        return []
    rows = Agent.unscoped.filter(id__in=list(last_seen), status__in=statuses).values_list(
        "id", "tenant_id", "workspace_id"
    )
    return [SilentAgent(a, t, w, last_seen[a]) for a, t, w in rows]


def expired_actions_for_system(now: datetime) -> list[tuple[str, str, str]]:
    """(id, tenant, workspace) of queued or handed-over actions past their expiry."""
    rows = Action.unscoped.filter(state__in=[ActionState.PENDING, ActionState.DELIVERED], expires_at__lte=now)
    return list(rows.values_list("id", "tenant_id", "workspace_id"))


# -- operations' dispatch ------------------------------------------------------------------------------------------
def action_view_for_system(action_id: str) -> ActionView:
    """The action as it stands; AGENT_ACTION_NOT_FOUND for an unknown id."""
    row = action_for_system(action_id)
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


def cluster_agents_for_system(tenant_id: str, cluster_id: str) -> list[AgentView]:
    """The agents registered for a cluster of this tenant (revoked ones included, with that status), by hostname."""
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


def operation_action_ids_for_system(tenant_id: str, operation_id: str) -> list[str]:
    """The actions an operation asked for (the live operation feed follows their streams too)."""
    return list(Action.unscoped.filter(tenant_id=tenant_id, operation_id=operation_id).values_list("id", flat=True))


def agent_is_live_for_system(agent_id: str) -> bool:
    """Known and not revoked (the demo agent's stored credential still serves)."""
    return Agent.unscoped.filter(id=agent_id).exclude(status=REVOKED).exists()


def heard_since_for_system(agent_id: str, since: datetime) -> bool:
    return AgentLiveness.unscoped.filter(agent_id=agent_id, last_heartbeat_at__gte=since).exists()


# -- the console -------------------------------------------------------------------------------------------------
def agents_for_platform() -> QuerySet[Agent]:
    return Agent.unscoped.all()


def liveness_for_platform() -> QuerySet[AgentLiveness]:
    return AgentLiveness.unscoped.all()


def bootstrap_tokens_for_platform() -> QuerySet[BootstrapToken]:
    return BootstrapToken.unscoped.all()


def actions_for_platform() -> QuerySet[Action]:
    return Action.unscoped.all()
