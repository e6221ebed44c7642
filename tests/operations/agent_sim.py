"""Agents for the operations tests: registered through the control plane's real registration, and driven through
the same agent-side functions the agent API calls (claim, progress, result). Only the node is imaginary: what an
action does there is the test's ``outcome``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from controlplane.agents import actions as agents
from controlplane.agents import selectors
from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata

# (action) -> (status, data, error code): "succeeded" | "failed" | "cancelled" | None (keep it running)
Outcome = Callable[[dict], tuple[str | None, dict, str]]


def succeed(action: dict) -> tuple[str, dict, str]:
    return "succeeded", {"ran": action["type"]}, ""


@dataclass
class SimAgent:
    hostname: str
    member_address: str
    agent: selectors.AuthenticatedAgent
    seen: list[dict] = field(default_factory=list)  # every action handed over, in order
    running: dict[str, dict] = field(default_factory=dict)  # id -> action, started and not finished

    @property
    def id(self) -> str:
        return self.agent.id

    def serve(self, outcome: Outcome = succeed) -> None:
        """One long-poll answer's worth of work: claim, report progress, report the result (unless kept running).
        A cancel forwarded through the progress answer ends a running action ``cancelled``."""
        for envelope in agents.do_claim_actions(metadata=self.agent.metadata(), agent=self.agent):
            action = envelope["action"]
            self.seen.append(action)
            self.running[action["id"]] = action
        for action_id, action in list(self.running.items()):
            cancel = agents.do_record_progress(
                metadata=self.agent.metadata(),
                agent_id=self.id,
                action_id=action_id,
                seq=len(self.seen),
                percent=50,
                message="working",
                output="...",
            )
            status, data, code = ("cancelled", {}, "AGENT_ACTION_CANCELLED") if cancel else outcome(action)
            if status is None:
                continue
            now = datetime.now(UTC).isoformat()
            agents.do_record_result(
                metadata=self.agent.metadata(),
                agent_id=self.id,
                action_id=action_id,
                status=status,
                exit_code=0 if status == "succeeded" else 1,
                data=data,
                output_tail=f"{action['type']} {status}",
                error_code=code,
                error_message="" if status == "succeeded" else f"{action['type']} {status} on {self.hostname}",
                started_at=now,
                finished_at=now,
            )
            del self.running[action_id]


def register_agent(meta: Metadata, cluster: Cluster, hostname: str, member_address: str) -> SimAgent:
    _, token = agents.do_issue_bootstrap_token(
        metadata=meta, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, cluster_id=cluster.id
    )
    registration = agents.do_register_agent(
        bootstrap_token=token,
        hostname=hostname,
        agent_version="0.1.0",
        member_address=member_address,
        allowlist=sorted(ACTION_TYPES),
        facts={"cpu_count": 2},
    )
    return SimAgent(hostname, member_address, selectors.authenticated_agent_for_system(registration.credential))
