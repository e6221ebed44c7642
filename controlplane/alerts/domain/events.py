"""Events of the alerts context (wire names are stable).

Three kinds of stream: a rule (``alert-rule-<id>``), an alert (``alert-<fingerprint>``: one stream per
fingerprint, each firing episode numbered, ADR 0034) and a silence (``silence-<id>``). Times are ISO 8601 text.

Every alert event carries the whole notifier view (``AlertView``): a routing subscriber needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


# -- rules ------------------------------------------------------------------------------------------------------
@event_type("alerts.rule_created")
@dataclass(frozen=True)
class RuleCreated:
    rule_id: str
    tenant_id: str
    workspace_id: str
    name: str
    kind: str
    params: dict
    matchers: list  # [{"name", "op", "value"}]: which candidates of the kind this rule alerts on
    severity: str
    labels: dict
    group_by: list
    for_seconds: int
    repeat_interval_seconds: int
    resolve_after_seconds: int
    channel_ids: list


@event_type("alerts.rule_updated")
@dataclass(frozen=True)
class RuleUpdated:
    rule_id: str
    changes: dict  # field -> new value, validated fields of RuleCreated only


@event_type("alerts.rule_disabled")
@dataclass(frozen=True)
class RuleDisabled:
    rule_id: str


@event_type("alerts.rule_enabled")
@dataclass(frozen=True)
class RuleEnabled:
    rule_id: str


@event_type("alerts.rule_deleted")
@dataclass(frozen=True)
class RuleDeleted:
    rule_id: str


# -- alerts -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertView:
    """What a notifier needs, as of this event."""

    fingerprint: str
    episode: int  # 1, 2, ...: each time the alert fires after being resolved
    status: str  # firing | resolved
    source: str  # controlplane | prometheus
    rule_id: str  # "" for an alert received from Alertmanager
    rule_name: str
    severity: str  # critical | warning | info
    labels: dict
    annotations: dict
    summary: str
    starts_at: str
    ends_at: str | None
    channel_ids: list
    group_key: str
    repeat_interval_seconds: int
    silenced_by: list  # ids of the active silences that match
    inhibited_by: list  # fingerprints of the firing alerts that mute this one

    @property
    def silenced(self) -> bool:
        return bool(self.silenced_by)

    @property
    def inhibited(self) -> bool:
        return bool(self.inhibited_by)

    @property
    def notify(self) -> bool:
        """Notifications go out only for an alert neither silenced nor inhibited."""
        return not (self.silenced_by or self.inhibited_by)


@event_type("alerts.alert_fired")
@dataclass(frozen=True)
class AlertFired(AlertView):
    tenant_id: str = ""
    workspace_id: str = ""


@event_type("alerts.alert_resolved")
@dataclass(frozen=True)
class AlertResolved(AlertView):
    reason: str = ""  # condition_cleared | timeout | receiver | rule_deleted | rule_disabled


@event_type("alerts.alert_acknowledged")
@dataclass(frozen=True)
class AlertAcknowledged(AlertView):
    acknowledged_by: str = ""  # "<actor kind>:<actor id>"
    acknowledged_at: str = ""
    comment: str = ""


@event_type("alerts.alert_suppression_changed")
@dataclass(frozen=True)
class AlertSuppressionChanged(AlertView):
    """A silence or an inhibiting alert started or stopped muting a firing alert (``silenced_by``/``inhibited_by``
    are the new values): a routing subscriber notifies when a firing alert stops being muted."""


@event_type("alerts.alert_reminded")
@dataclass(frozen=True)
class AlertReminded(AlertView):
    """Still firing, not muted, not acknowledged, ``repeat_interval_seconds`` after the last notice."""


# -- silences ---------------------------------------------------------------------------------------------------
@event_type("alerts.silence_created")
@dataclass(frozen=True)
class SilenceCreated:
    silence_id: str
    tenant_id: str
    workspace_id: str
    matchers: list
    starts_at: str
    ends_at: str
    author: str  # "<actor kind>:<actor id>"
    reason: str


@event_type("alerts.silence_ended")
@dataclass(frozen=True)
class SilenceEnded:
    """Ended early by a person."""

    silence_id: str
    ended_by: str
    ended_at: str


@event_type("alerts.silence_expired")
@dataclass(frozen=True)
class SilenceExpired:
    """Its ``ends_at`` passed (the evaluator records it)."""

    silence_id: str
    expired_at: str
