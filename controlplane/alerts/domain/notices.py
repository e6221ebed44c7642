"""Which alert events deserve a notification: the one function a routing subscriber (the notifications app) calls.

Pure: no Django. Give it an event's data (``RecordedEvent.data``); it answers a ``Notice`` (what to send, to which
channels) or None. Muted alerts (silenced or inhibited) get no notice; that is recorded on the alert, not lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.alerts.domain.events import (
    AlertFired,
    AlertReminded,
    AlertResolved,
    AlertSuppressionChanged,
    AlertView,
)


@dataclass(frozen=True)
class Notice:
    kind: str  # firing | reminder | resolved
    alert: AlertView  # fingerprint, labels, summary, severity, starts_at, ends_at, channel_ids, group_key, ...

    @property
    def channel_ids(self) -> list[str]:
        return list(self.alert.channel_ids)

    @property
    def dedup_key(self) -> str:
        """One notice per fingerprint, episode and kind: a routing subscriber that replays sends nothing twice
        (a reminder is keyed by the subscriber with the event's position as well)."""
        return f"{self.alert.fingerprint}:{self.alert.episode}:{self.kind}"


def notice_for(data: object) -> Notice | None:
    if not isinstance(data, AlertView) or not data.notify:
        return None
    if isinstance(data, AlertFired):
        return Notice("firing", data)
    if isinstance(data, AlertReminded):
        return Notice("reminder", data)
    if isinstance(data, AlertResolved):
        return Notice("resolved", data)
    if isinstance(data, AlertSuppressionChanged) and data.status == "firing":
        # it changes only when the lists change, so an unmuted firing alert was muted until now: notify it as firing
        return Notice("firing", data)
    return None  # acknowledged: the record of who is on it, not a page
