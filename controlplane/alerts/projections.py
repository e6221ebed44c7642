"""AlertsProjector: rules, alerts and silences from their streams."""

from __future__ import annotations

from datetime import datetime

from controlplane.alerts.domain import events  # noqa: F401  (registers the event types)
from controlplane.alerts.domain.rules import EDITABLE
from controlplane.alerts.models import Alert, AlertRule, Silence
from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class AlertsProjector(Projector):
    name = "alerts"
    read_models = (AlertRule, Alert, Silence)

    @handles("alerts.rule_created")
    def on_rule_created(self, event: RecordedEvent) -> None:
        d = event.data
        AlertRule.unscoped.create(
            id=d.rule_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            kind=d.kind,
            **{name: getattr(d, name) for name in EDITABLE},
            version=event.version,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )

    @handles("alerts.rule_updated", "alerts.rule_disabled", "alerts.rule_enabled", "alerts.rule_deleted")
    def on_rule_changed(self, event: RecordedEvent) -> None:
        changes: dict = {"version": event.version, "updated_at": event.recorded_at}
        if event.event_type == "alerts.rule_updated":
            changes.update(event.data.changes)
        elif event.event_type == "alerts.rule_deleted":
            changes["deleted"] = True
        else:
            changes["enabled"] = event.event_type == "alerts.rule_enabled"
        AlertRule.unscoped.filter(id=event.data.rule_id).update(**changes)

    def _view(self, event: RecordedEvent) -> dict:
        d = event.data
        return {
            "episode": d.episode,
            "status": d.status,
            "source": d.source,
            "rule_id": d.rule_id,
            "rule_name": d.rule_name,
            "severity": d.severity,
            "cluster": d.labels.get("cluster", "")[:200],
            "labels": d.labels,
            "annotations": d.annotations,
            "summary": d.summary,
            "starts_at": _time(d.starts_at),
            "ends_at": _time(d.ends_at),
            "channel_ids": d.channel_ids,
            "group_key": d.group_key[:1000],
            "repeat_interval_seconds": d.repeat_interval_seconds,
            "silenced_by": d.silenced_by,
            "inhibited_by": d.inhibited_by,
            "silenced": bool(d.silenced_by),
            "inhibited": bool(d.inhibited_by),
            "version": event.version,
            "updated_at": event.recorded_at,
        }

    @handles("alerts.alert_fired")
    def on_fired(self, event: RecordedEvent) -> None:
        # a new episode: the acknowledgement and resolution of the last one are gone
        fresh = {
            "resolved_reason": "",
            "acknowledged": False,
            "acknowledged_by": "",
            "acknowledged_at": None,
            "acknowledge_comment": "",
        }
        Alert.unscoped.update_or_create(
            id=event.data.fingerprint,
            defaults={
                "tenant_id": event.data.tenant_id,
                "workspace_id": event.data.workspace_id,
                **self._view(event),
                **fresh,
            },
        )

    @handles("alerts.alert_resolved")
    def on_resolved(self, event: RecordedEvent) -> None:
        Alert.unscoped.filter(id=event.data.fingerprint).update(**self._view(event), resolved_reason=event.data.reason)

    @handles("alerts.alert_acknowledged")
    def on_acknowledged(self, event: RecordedEvent) -> None:
        d = event.data
        Alert.unscoped.filter(id=d.fingerprint).update(
            acknowledged=True,
            acknowledged_by=d.acknowledged_by,
            acknowledged_at=_time(d.acknowledged_at),
            acknowledge_comment=d.comment,
            version=event.version,
            updated_at=event.recorded_at,
        )

    @handles("alerts.alert_suppression_changed", "alerts.alert_reminded")
    def on_view_changed(self, event: RecordedEvent) -> None:
        Alert.unscoped.filter(id=event.data.fingerprint).update(**self._view(event))

    @handles("alerts.silence_created")
    def on_silence_created(self, event: RecordedEvent) -> None:
        d = event.data
        Silence.unscoped.create(
            id=d.silence_id,
            tenant_id=d.tenant_id,
            workspace_id=d.workspace_id,
            matchers=d.matchers,
            starts_at=_time(d.starts_at),
            ends_at=_time(d.ends_at),
            author=d.author,
            reason=d.reason,
            status="active",
            version=event.version,
            created_at=event.recorded_at,
        )

    @handles("alerts.silence_ended")
    def on_silence_ended(self, event: RecordedEvent) -> None:
        d = event.data
        Silence.unscoped.filter(id=d.silence_id).update(
            status="ended", ended_by=d.ended_by, ended_at=_time(d.ended_at), version=event.version
        )

    @handles("alerts.silence_expired")
    def on_silence_expired(self, event: RecordedEvent) -> None:
        d = event.data
        Silence.unscoped.filter(id=d.silence_id).update(
            status="expired", ended_at=_time(d.expired_at), version=event.version
        )


register(AlertsProjector())
