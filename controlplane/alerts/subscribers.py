"""Follow-on work of the alerts context, run by ``eventlog.run_subscriptions`` after the events commit (each handler
runs in the transaction that moves its checkpoint: its effect happens exactly once, docs/eventlog.md).

- ``alerts.evaluate_events``: the event rules. A run that failed, an agent or node lost, a cluster unreachable, an
  operation failed fire the alerts of the matching rules; the later event that clears it resolves them.
- ``alerts.refresh_muting``: an alert fired or resolved (it may inhibit others), a silence created, ended or expired:
  the firing alerts of that workspace are muted or unmuted at once rather than at the next evaluation.
- ``alerts.route_notifications``: an alert fired, reminded, resolved or unmuted is queued to each of its rule's
  notification channels (``domain/notices.py`` says what is sent; the notifications app delivers and retries). A
  channel deleted or disabled since the rule named it is skipped with a warning: the alert stays listed.
"""

from __future__ import annotations

import logging

from controlplane.alerts import actions, evaluate
from controlplane.alerts.domain.notices import outgoing_for
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.projectors import Subscription, subscribe
from controlplane.eventlog.records import RecordedEvent
from controlplane.notifications.actions import do_send_notification
from controlplane.notifications.domain.errors import ChannelDisabled, ChannelNotFound

log = logging.getLogger("controlplane.alerts")

EVENTS_REASON = "alerts.evaluate_events"
MUTING_REASON = "alerts.refresh_muting"
ROUTE_REASON = "alerts.route_notifications"
MUTING_CAUSES = frozenset(
    {
        "alerts.alert_fired",
        "alerts.alert_resolved",
        "alerts.silence_created",
        "alerts.silence_ended",
        "alerts.silence_expired",
    }
)


def evaluate_events(events: list[RecordedEvent]) -> None:
    evaluate.on_events(events, reason=EVENTS_REASON)


def refresh_muting(events: list[RecordedEvent]) -> None:
    latest: dict[tuple[str, str], RecordedEvent] = {}
    for event in events:
        if event.event_type in MUTING_CAUSES and event.metadata.tenant_id and event.metadata.workspace_id:
            latest[(event.metadata.tenant_id, event.metadata.workspace_id)] = event
    for (tenant_id, workspace_id), event in latest.items():
        metadata = Metadata.for_system(tenant_id, reason=MUTING_REASON, workspace_id=workspace_id)
        actions.do_refresh_muting(
            metadata=metadata.caused_by(event.position),
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            now=event.recorded_at,
        )


def route_notifications(events: list[RecordedEvent]) -> None:
    for event in events:
        outgoing = outgoing_for(event.data, position=event.position)
        if outgoing is None or not event.metadata.tenant_id:
            continue
        metadata = Metadata.for_system(
            event.metadata.tenant_id, reason=ROUTE_REASON, workspace_id=event.metadata.workspace_id
        ).caused_by(event.position)
        for channel_id in outgoing.channel_ids:
            try:
                do_send_notification(
                    metadata=metadata, channel_id=channel_id, notice=outgoing.notice, dedup_key=outgoing.dedup_key
                )
            except (ChannelNotFound, ChannelDisabled) as error:
                log.warning(
                    "alert %s: not sent to channel %s (%s)", outgoing.notice.fingerprint, channel_id, error.code
                )


EVALUATE_EVENTS = subscribe(Subscription(EVENTS_REASON, evaluate_events))
REFRESH_MUTING = subscribe(Subscription(MUTING_REASON, refresh_muting))
ROUTE_NOTIFICATIONS = subscribe(Subscription(ROUTE_REASON, route_notifications))
