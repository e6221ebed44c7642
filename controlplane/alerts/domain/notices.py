"""Which alert events are sent to the alert's notification channels, and as what: the notifications app's
``Notice``, the channels and a key that makes a replayed event send nothing twice.

Pure: no Django. A muted alert (silenced or inhibited) and an acknowledgement send nothing; that is recorded on the
alert, not lost. Alerts received from Alertmanager name no channels (Alertmanager routes its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controlplane.alerts.domain.events import (
    AlertFired,
    AlertReminded,
    AlertResolved,
    AlertSuppressionChanged,
    AlertView,
)
from controlplane.notifications.domain.notice import Notice


@dataclass(frozen=True)
class Outgoing:
    notice: Notice
    channel_ids: tuple[str, ...]
    dedup_key: str  # per channel: the notifications app sends one delivery per (channel, key)


def outgoing_for(data: object, *, position: int) -> Outgoing | None:
    """What the alert event ``data`` (recorded at ``position`` in the log) sends, or None."""
    if not isinstance(data, AlertView) or not data.notify or not data.channel_ids:
        return None
    episode = f"{data.fingerprint}:{data.episode}"
    if isinstance(data, AlertFired):
        key = f"{episode}:firing"
    elif isinstance(data, AlertResolved):
        key = f"{episode}:resolved"
    elif isinstance(data, AlertReminded):
        key = f"{episode}:reminder:{position}"  # each reminder is a page of its own
    elif isinstance(data, AlertSuppressionChanged) and data.status == "firing":
        # it changes only when the lists change, so a firing alert unmuted now was muted until now: page it
        key = f"{episode}:unmuted:{position}"
    else:
        return None
    return Outgoing(_notice(data), tuple(data.channel_ids), key)


def _notice(view: AlertView) -> Notice:
    return Notice(
        kind="alert",
        status=view.status,
        severity=view.severity,
        name=view.rule_name,
        summary=view.summary,
        labels=tuple(sorted((str(k), str(v)) for k, v in view.labels.items())),
        fingerprint=view.fingerprint,
        starts_at=datetime.fromisoformat(view.starts_at),
        ends_at=datetime.fromisoformat(view.ends_at) if view.ends_at else None,
    )
