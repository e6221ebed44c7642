"""The only writers of alerts: rules, alerts (fire, resolve, acknowledge, muting, reminders), silences and the
Alertmanager receiver.

Each authorizes its actor itself (ADR 0018): ``alert.manage`` in the workspace for every change, the control plane
itself (the event subscriber and the beat evaluator, as the system) included. A rule, alert or silence of another
tenant or workspace answers its NOT_FOUND code, as if it did not exist.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from controlplane.alerts import selectors
from controlplane.alerts.domain import alert as alert_domain
from controlplane.alerts.domain import rules as rule_domain
from controlplane.alerts.domain import silence as silence_domain
from controlplane.alerts.domain.alert import AlertState, Firing
from controlplane.alerts.domain.errors import (
    AlertNotFound,
    AlertRuleExists,
    AlertRuleInvalid,
    AlertRuleNotFound,
    AlertSilenceNotFound,
)
from controlplane.alerts.domain.matching import FiringAlert, fingerprint, group_key, inhibited_by, silenced_by
from controlplane.alerts.domain.receiver import parse_webhook
from controlplane.alerts.domain.rules import RuleState
from controlplane.alerts.domain.silence import SilenceState
from controlplane.eventlog.aggregates import AggregateSpec, execute, execute_retrying, load
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.notifications.selectors import channel_list

log = logging.getLogger("controlplane.alerts")

RULE = AggregateSpec[RuleState](
    name="alerts.rule",
    initial=RuleState,
    evolve=rule_domain.evolve,
    to_snapshot=rule_domain.to_snapshot,
    from_snapshot=rule_domain.from_snapshot,
)
ALERT = AggregateSpec[AlertState](
    name="alerts.alert",
    initial=AlertState,
    evolve=alert_domain.evolve,
    to_snapshot=alert_domain.to_snapshot,
    from_snapshot=alert_domain.from_snapshot,
)
SILENCE = AggregateSpec[SilenceState](
    name="alerts.silence",
    initial=SilenceState,
    evolve=silence_domain.evolve,
    to_snapshot=silence_domain.to_snapshot,
    from_snapshot=silence_domain.from_snapshot,
)


def rule_stream(rule_id: str) -> StreamRef:
    return StreamRef(type="alerts.rule", id=f"alert-rule-{rule_id}")


def alert_stream(fp: str) -> StreamRef:
    return StreamRef(type="alerts.alert", id=f"alert-{fp}")


def silence_stream(silence_id: str) -> StreamRef:
    return StreamRef(type="alerts.silence", id=f"silence-{silence_id}")


def _who(metadata: Metadata) -> str:
    return f"{metadata.actor.kind}:{metadata.actor.id}"


def _place(metadata: Metadata, tenant_id: str, workspace_id: str) -> Metadata:
    return replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id)


def _mine(state: Any, tenant_id: str, workspace_id: str) -> bool:
    return bool(state.tenant_id) and (state.tenant_id, state.workspace_id) == (tenant_id, workspace_id)


# -- rules ------------------------------------------------------------------------------------------------------
def _live_rule(tenant_id: str, workspace_id: str, rule_id: str) -> RuleState:
    state, _ = load(RULE, rule_stream(str(rule_id)[:64]).id)
    if not state.live or not _mine(state, tenant_id, workspace_id):
        raise AlertRuleNotFound("no such alert rule", rule_id=str(rule_id)[:64])
    return state


def do_create_rule(*, metadata: Metadata, tenant_id: str, workspace_id: str, fields: dict[str, Any]) -> str:
    """Create a rule (enabled); returns its id. ALERT_RULE_INVALID names the field that is wrong."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    checked = rule_domain.check_new_rule(fields)
    rule_id = uuid.uuid4().hex
    with transaction.atomic():
        if selectors.rule_name_taken(tenant_id, workspace_id, checked["name"]):
            raise AlertRuleExists(f"a rule named {checked['name']!r} exists here", field="name")
        _check_channels(tenant_id, workspace_id, checked.get("channel_ids", []))
        execute(
            RULE,
            rule_stream(rule_id),
            lambda state: rule_domain.create_rule(
                state, rule_id=rule_id, tenant_id=tenant_id, workspace_id=workspace_id, raw=checked
            ),
            _place(metadata, tenant_id, workspace_id),
        )
    return rule_id


def do_update_rule(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    rule_id: str,
    fields: dict[str, Any],
    expected_version: int | None = None,
) -> None:
    """Edit a rule; ``fields["enabled"]`` enables or disables it. Disabling resolves its firing alerts."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    with transaction.atomic():
        _live_rule(tenant_id, workspace_id, rule_id)
        name = fields.get("name")
        if isinstance(name, str) and selectors.rule_name_taken(tenant_id, workspace_id, name, but=rule_id):
            raise AlertRuleExists(f"a rule named {name!r} exists here", field="name")
        if isinstance(fields.get("channel_ids"), list):
            _check_channels(tenant_id, workspace_id, fields["channel_ids"])
        recorded = execute(
            RULE,
            rule_stream(rule_id),
            lambda state: rule_domain.update_rule(state, raw=fields),
            _place(metadata, tenant_id, workspace_id),
            expected_version=expected_version,
        )
        if any(e.event_type == "alerts.rule_disabled" for e in recorded):
            _resolve_rule_alerts(metadata, tenant_id, workspace_id, rule_id, "rule_disabled")


def _check_channels(tenant_id: str, workspace_id: str, channel_ids: list[Any]) -> None:
    """A rule names notification channels of its own workspace that exist (one deleted later is skipped when an
    alert is routed, with a warning)."""
    wanted = {c for c in channel_ids if isinstance(c, str)}
    if not wanted:
        return
    channels = channel_list(tenant_id=tenant_id, workspace_id=workspace_id).filter(id__in=wanted)
    known = set(channels.values_list("id", flat=True))
    missing = sorted(wanted - known)
    if missing:
        raise AlertRuleInvalid(f"no notification channel {missing[0]!r} in this workspace", field="channel_ids")


def do_delete_rule(
    *, metadata: Metadata, tenant_id: str, workspace_id: str, rule_id: str, expected_version: int | None = None
) -> None:
    """Delete a rule; its firing alerts resolve (reason ``rule_deleted``)."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    with transaction.atomic():
        _live_rule(tenant_id, workspace_id, rule_id)
        execute(
            RULE,
            rule_stream(rule_id),
            rule_domain.delete_rule,
            _place(metadata, tenant_id, workspace_id),
            expected_version=expected_version,
        )
        _resolve_rule_alerts(metadata, tenant_id, workspace_id, rule_id, "rule_deleted")


def _resolve_rule_alerts(metadata: Metadata, tenant_id: str, workspace_id: str, rule_id: str, reason: str) -> None:
    now = timezone.now()
    for fp in selectors.firing_of_rule(tenant_id, workspace_id, rule_id):
        execute_retrying(
            ALERT,
            alert_stream(fp),
            lambda state: alert_domain.resolve(state, ends_at=now, reason=reason),
            _place(metadata, tenant_id, workspace_id),
        )


# -- alerts -----------------------------------------------------------------------------------------------------
def _muting(tenant_id: str, workspace_id: str, fp: str, labels: dict[str, str], now: datetime) -> tuple[list, list]:
    silences = selectors.active_silences(tenant_id, workspace_id)
    firing = selectors.firing_alerts(tenant_id, workspace_id)
    return silenced_by(labels, silences, now), inhibited_by(FiringAlert(fp, labels), firing)


def do_fire_alert(
    *, metadata: Metadata, tenant_id: str, workspace_id: str, firing: Firing, starts_at: datetime
) -> bool:
    """Fire the alert of ``firing.fingerprint`` unless it fires already (then nothing changes). Whether an active
    silence or a firing inhibiting alert mutes it is decided now and recorded on the event. True if it fired."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    with transaction.atomic():
        muted_by, inhibited = _muting(tenant_id, workspace_id, firing.fingerprint, firing.labels, timezone.now())
        _, recorded = execute_retrying(
            ALERT,
            alert_stream(firing.fingerprint),
            lambda state: (
                _unless_foreign(state, tenant_id, workspace_id)
                or alert_domain.fire(
                    state,
                    firing,
                    tenant_id=tenant_id,
                    workspace_id=workspace_id,
                    starts_at=starts_at,
                    silenced_by=muted_by,
                    inhibited_by=inhibited,
                )
            ),
            _place(metadata, tenant_id, workspace_id),
        )
    if recorded:
        log.info("alert %s (%s) fired in workspace %s", firing.fingerprint, firing.rule_name, workspace_id)
    return bool(recorded)


def _unless_foreign(state: AlertState, tenant_id: str, workspace_id: str) -> list[object]:
    """A fingerprint is derived from a rule id or a workspace: another workspace's stream is a bug, never a merge."""
    if state.tenant_id and not _mine(state, tenant_id, workspace_id):
        raise AlertNotFound("no such alert", fingerprint="")
    return []


def do_resolve_alert(
    *, metadata: Metadata, tenant_id: str, workspace_id: str, fingerprint: str, ends_at: datetime, reason: str
) -> bool:
    """Resolve a firing alert; nothing when it is not firing. True if it resolved."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    _, recorded = execute_retrying(
        ALERT,
        alert_stream(fingerprint),
        lambda state: (
            _unless_foreign(state, tenant_id, workspace_id)
            or alert_domain.resolve(state, ends_at=ends_at, reason=reason)
        ),
        _place(metadata, tenant_id, workspace_id),
    )
    return bool(recorded)


def do_acknowledge_alert(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    fingerprint: str,
    comment: str = "",
    expected_version: int | None = None,
) -> None:
    """Acknowledge the firing episode (who, when, a comment); an acknowledged alert gets no reminders."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    state, _ = load(ALERT, alert_stream(str(fingerprint)[:64]).id)
    if not _mine(state, tenant_id, workspace_id):
        raise AlertNotFound("no such alert", fingerprint=str(fingerprint)[:64])
    execute(
        ALERT,
        alert_stream(fingerprint),
        lambda current: alert_domain.acknowledge(current, by=_who(metadata), at=timezone.now(), comment=comment),
        _place(metadata, tenant_id, workspace_id),
        expected_version=expected_version,
    )


def do_refresh_muting(*, metadata: Metadata, tenant_id: str, workspace_id: str, now: datetime) -> int:
    """Recompute, for every firing alert of the workspace, the silences and inhibiting alerts that mute it, and
    record the changes (``alerts.alert_suppression_changed``). Returns how many changed."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    changed = 0
    with transaction.atomic():
        silences = selectors.active_silences(tenant_id, workspace_id)
        firing = selectors.firing_alerts(tenant_id, workspace_id)
        shown = selectors.muting_shown(tenant_id, workspace_id)
        for me in firing:
            muted_by, inhibited = silenced_by(me.labels, silences, now), inhibited_by(me, firing)
            if shown.get(me.fingerprint) == (muted_by, inhibited):
                continue  # what the read model shows already: no stream to load (the decide would agree)
            _, recorded = execute_retrying(
                ALERT,
                alert_stream(me.fingerprint),
                lambda state, s=muted_by, i=inhibited: alert_domain.set_muting(state, silenced_by=s, inhibited_by=i),
                _place(metadata, tenant_id, workspace_id),
            )
            changed += len(recorded)
    return changed


def do_remind_alert(*, metadata: Metadata, tenant_id: str, workspace_id: str, fingerprint: str, now: datetime) -> bool:
    """Record a reminder for a firing alert whose repeat interval has passed since its last notice."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    _, recorded = execute_retrying(
        ALERT,
        alert_stream(fingerprint),
        lambda state: alert_domain.remind(state, now=now),
        _place(metadata, tenant_id, workspace_id),
    )
    return bool(recorded)


# -- silences ---------------------------------------------------------------------------------------------------
def do_create_silence(*, metadata: Metadata, tenant_id: str, workspace_id: str, fields: dict[str, Any]) -> str:
    """A silence: matchers, a window (``ends_at`` required), a reason; the author is the actor. Returns its id."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    silence_id = uuid.uuid4().hex
    execute(
        SILENCE,
        silence_stream(silence_id),
        lambda state: silence_domain.create_silence(
            state,
            silence_id=silence_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            raw=fields,
            author=_who(metadata),
            now=timezone.now(),
        ),
        _place(metadata, tenant_id, workspace_id),
    )
    return silence_id


def _live_silence(tenant_id: str, workspace_id: str, silence_id: str) -> None:
    state, _ = load(SILENCE, silence_stream(str(silence_id)[:64]).id)
    if not state.exists or not _mine(state, tenant_id, workspace_id):
        raise AlertSilenceNotFound("no such silence", silence_id=str(silence_id)[:64])


def do_end_silence(
    *, metadata: Metadata, tenant_id: str, workspace_id: str, silence_id: str, expected_version: int | None = None
) -> None:
    """End a silence early; the alerts it muted are unmuted by the muting refresh that follows."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    _live_silence(tenant_id, workspace_id, silence_id)
    execute(
        SILENCE,
        silence_stream(silence_id),
        lambda state: silence_domain.end_silence(state, by=_who(metadata), now=timezone.now()),
        _place(metadata, tenant_id, workspace_id),
        expected_version=expected_version,
    )


def do_expire_silence(*, metadata: Metadata, tenant_id: str, workspace_id: str, silence_id: str, now: datetime) -> bool:
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    _live_silence(tenant_id, workspace_id, silence_id)
    _, recorded = execute_retrying(
        SILENCE,
        silence_stream(silence_id),
        lambda state: silence_domain.expire_silence(state, now=now),
        _place(metadata, tenant_id, workspace_id),
    )
    return bool(recorded)


# -- the Alertmanager receiver ----------------------------------------------------------------------------------
def do_receive_alertmanager(*, metadata: Metadata, tenant_id: str, workspace_id: str, body: object) -> dict[str, int]:
    """Alertmanager's webhook body: each firing alert fires here, each resolved one resolves, all or nothing.

    The fingerprint is ours (``prometheus:<workspace>`` and the alert's labels), so Alertmanager's own fingerprint
    is kept as the annotation ``am_fingerprint``; every alert gets the label ``source="prometheus"``."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    received = parse_webhook(body)  # the whole body is checked before anything is written
    counts = {"fired": 0, "resolved": 0, "unchanged": 0}
    with transaction.atomic():
        for item in received:
            labels = {**item.labels, "source": "prometheus"}
            fp = fingerprint(f"prometheus:{workspace_id}", item.labels)
            if item.status == "resolved":
                assert item.ends_at is not None
                done = do_resolve_alert(
                    metadata=metadata,
                    tenant_id=tenant_id,
                    workspace_id=workspace_id,
                    fingerprint=fp,
                    ends_at=item.ends_at,
                    reason="receiver",
                )
                counts["resolved" if done else "unchanged"] += 1
                continue
            annotations = {
                **item.annotations,
                "am_fingerprint": item.am_fingerprint,
                "generator_url": item.generator_url,
            }
            firing = Firing(
                fingerprint=fp,
                source="prometheus",
                rule_id="",
                rule_name=item.labels["alertname"],
                severity=item.severity,
                labels=labels,
                annotations={k: v for k, v in annotations.items() if v},
                summary=item.summary,
                channel_ids=[],  # Alertmanager routes its own notifications
                group_key=group_key(["alertname", "cluster"], labels),
                repeat_interval_seconds=rule_domain.DEFAULT_REPEAT_SECONDS,
            )
            done = do_fire_alert(
                metadata=metadata,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                firing=firing,
                starts_at=item.starts_at,
            )
            counts["fired" if done else "unchanged"] += 1
    return counts
