"""Follow-on work of the agents context, run by ``eventlog.run_subscriptions`` (beat) after the event that causes it
has committed. Each handler runs in the transaction that moves its checkpoint, so its effect happens exactly once,
and a crash between the causing write and the follow-on only delays it to the next run (docs/eventlog.md)."""

from __future__ import annotations

from dataclasses import replace

from controlplane.agents import actions, selectors
from controlplane.agents.domain.events import AgentRevoked
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.projectors import Subscription, subscribe
from controlplane.eventlog.records import RecordedEvent

REASON = "agents.revoked_agents_actions"


def end_revoked_agents_actions(events: list[RecordedEvent]) -> None:
    """A revoked agent can report nothing any more: its queued actions are cancelled, those handed to it fail
    with AGENT_REVOKED (an operation step waiting on one sees it end)."""
    for event in events:
        if not isinstance(event.data, AgentRevoked):
            continue
        cause = event.metadata
        metadata = replace(
            Metadata.for_system(cause.tenant_id, reason=REASON, workspace_id=cause.workspace_id),
            correlation_id=cause.correlation_id or cause.request_id,
        ).caused_by(event.position)
        for action_id, _state in selectors.unfinished_actions_for_system(event.data.agent_id):
            actions.do_end_action_of_revoked_agent(metadata=metadata, action_id=action_id, agent_id=event.data.agent_id)


REVOKED_AGENTS_ACTIONS = subscribe(Subscription(REASON, end_revoked_agents_actions))
