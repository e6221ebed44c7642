"""AgentsProjector: bootstrap tokens, agents and actions from their streams."""

from __future__ import annotations

from datetime import datetime

from controlplane.agents.domain import events  # noqa: F401  (registers the event types)
from controlplane.agents.domain.action import ActionState
from controlplane.agents.domain.agent import LOST, ONLINE, REVOKED, STALE
from controlplane.agents.models import Action, Agent, BootstrapToken
from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


class AgentsProjector(Projector):
    name = "agents"
    read_models = (Action, Agent, BootstrapToken)

    # -- tokens ------------------------------------------------------------------------------------------------
    @handles("agents.bootstrap_token_issued")
    def on_token_issued(self, event: RecordedEvent) -> None:
        d = event.data
        BootstrapToken.unscoped.create(
            id=d.token_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            cluster_id=d.cluster_id,
            description=d.description,
            expires_at=datetime.fromisoformat(d.expires_at),
            created_by=f"{event.metadata.actor.kind}:{event.metadata.actor.id}"[:150],
            created_at=event.recorded_at,
            version=event.version,
        )

    @handles("agents.bootstrap_token_used")
    def on_token_used(self, event: RecordedEvent) -> None:
        BootstrapToken.unscoped.filter(id=event.data.token_id).update(
            used=True, used_by_agent=event.data.agent_id, version=event.version
        )

    @handles("agents.bootstrap_token_revoked")
    def on_token_revoked(self, event: RecordedEvent) -> None:
        BootstrapToken.unscoped.filter(id=event.data.token_id).update(revoked=True, version=event.version)

    # -- agents ------------------------------------------------------------------------------------------------
    @handles("agents.agent_registered")
    def on_registered(self, event: RecordedEvent) -> None:
        d = event.data
        Agent.unscoped.create(
            id=d.agent_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            cluster_id=d.cluster_id,
            member_address=d.member_address,
            hostname=d.hostname,
            agent_version=d.agent_version,
            status=ONLINE,
            status_since=event.recorded_at,
            allowlist=d.allowlist,
            facts=d.facts,
            token_id=d.token_id,
            registered_at=event.recorded_at,
            version=event.version,
        )

    @handles("agents.agent_online", "agents.agent_stale", "agents.agent_lost", "agents.agent_revoked")
    def on_status(self, event: RecordedEvent) -> None:
        status = {
            "agents.agent_online": ONLINE,
            "agents.agent_stale": STALE,
            "agents.agent_lost": LOST,
            "agents.agent_revoked": REVOKED,
        }[event.event_type]
        changes = {"status": status, "status_since": event.recorded_at, "version": event.version}
        if status == REVOKED:
            changes["revoked_reason"] = event.data.reason
        Agent.unscoped.filter(id=event.data.agent_id).update(**changes)

    # -- actions -----------------------------------------------------------------------------------------------
    @handles("agents.action_requested")
    def on_action_requested(self, event: RecordedEvent) -> None:
        d = event.data
        Action.unscoped.create(
            id=d.action_id,
            tenant_id=event.metadata.tenant_id,
            workspace_id=event.metadata.workspace_id or "",
            agent_id=d.agent_id,
            type=d.action_type,
            params=d.params,
            state=ActionState.PENDING,
            key=d.key,
            operation_id=d.operation_id,
            step_key=d.step_key,
            requested_by=f"{event.metadata.actor.kind}:{event.metadata.actor.id}"[:170],
            nonce=d.nonce,
            issued_at=datetime.fromisoformat(d.issued_at),
            expires_at=datetime.fromisoformat(d.expires_at),
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
            version=event.version,
        )

    def _update(self, event: RecordedEvent, **changes: object) -> None:
        Action.unscoped.filter(id=event.data.action_id).update(
            version=event.version, updated_at=event.recorded_at, **changes
        )

    @handles("agents.action_delivered")
    def on_delivered(self, event: RecordedEvent) -> None:
        self._update(event, state=ActionState.DELIVERED, delivered_at=event.recorded_at, key_id=event.data.key_id)

    @handles("agents.action_progressed")
    def on_progressed(self, event: RecordedEvent) -> None:
        d = event.data
        row = Action.unscoped.filter(id=d.action_id).values_list("started_at", flat=True).first()
        self._update(
            event,
            state=ActionState.RUNNING,
            started_at=row or event.recorded_at,
            progress_percent=d.percent,
            progress_message=d.message,
        )

    @handles("agents.action_cancel_requested")
    def on_cancel_requested(self, event: RecordedEvent) -> None:
        self._update(event, cancel_requested=True)

    @handles("agents.action_succeeded", "agents.action_failed", "agents.action_cancelled")
    def on_finished(self, event: RecordedEvent) -> None:
        d = event.data
        state = {
            "agents.action_succeeded": ActionState.SUCCEEDED,
            "agents.action_failed": ActionState.FAILED,
            "agents.action_cancelled": ActionState.CANCELLED,
        }[event.event_type]
        changes: dict[str, object] = {
            "state": state,
            "result": d.data,
            "finished_at": _time(d.finished_at) or event.recorded_at,
            "output_tail": d.output_tail,
        }
        if _time(d.started_at):
            changes["started_at"] = _time(d.started_at)
        if state != ActionState.CANCELLED:
            changes["exit_code"] = d.exit_code
        if state == ActionState.FAILED:
            changes["error_code"] = d.error_code
            changes["error_message"] = d.error_message
        self._update(event, **changes)

    @handles("agents.action_refused")
    def on_refused(self, event: RecordedEvent) -> None:
        d = event.data
        self._update(
            event,
            state=ActionState.REFUSED,
            error_code=d.code,
            error_message=d.message,
            finished_at=event.recorded_at,
        )

    @handles("agents.action_expired")
    def on_expired(self, event: RecordedEvent) -> None:
        self._update(
            event,
            state=ActionState.EXPIRED,
            error_code="AGENT_ACTION_EXPIRED",
            error_message=f"not finished before its expiry (it was {event.data.state})",
            finished_at=event.recorded_at,
        )


register(AgentsProjector())
