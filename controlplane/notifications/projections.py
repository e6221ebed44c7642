"""ChannelsProjector: the ``Channel`` read model from the channel streams (timestamps from the events)."""

from __future__ import annotations

from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent
from controlplane.notifications.domain import events  # noqa: F401  (registers the event types)
from controlplane.notifications.models import DELETED_SLOT_PREFIX, Channel


class ChannelsProjector(Projector):
    name = "notifications"
    read_models = (Channel,)

    @handles("notifications.channel_created")
    def on_channel_created(self, event: RecordedEvent) -> None:
        data = event.data
        Channel.unscoped.create(
            id=data.channel_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            name=data.name,
            slot=data.name,
            kind=data.kind,
            language=data.language,
            recipients=list(data.recipients),
            secrets=dict(data.secrets),
            masked=dict(data.masked),
            version=event.version,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )

    @handles("notifications.channel_updated")
    def on_channel_updated(self, event: RecordedEvent) -> None:
        data = event.data
        channel = Channel.unscoped.get(id=data.channel_id)
        for key, value in data.changes.items():
            setattr(channel, key, value)
        if "name" in data.changes:
            channel.slot = data.changes["name"]
        channel.secrets = {k: v for k, v in {**channel.secrets, **data.secrets}.items() if k not in data.removed}
        channel.masked = {k: v for k, v in {**channel.masked, **data.masked}.items() if k not in data.removed}
        channel.version = event.version
        channel.updated_at = event.recorded_at
        channel.save()

    @handles("notifications.channel_disabled")
    def on_channel_disabled(self, event: RecordedEvent) -> None:
        Channel.unscoped.filter(id=event.data.channel_id).update(
            enabled=False, disabled_reason=event.data.reason, version=event.version, updated_at=event.recorded_at
        )

    @handles("notifications.channel_enabled")
    def on_channel_enabled(self, event: RecordedEvent) -> None:
        Channel.unscoped.filter(id=event.data.channel_id).update(
            enabled=True, disabled_reason="", version=event.version, updated_at=event.recorded_at
        )

    @handles("notifications.channel_deleted")
    def on_channel_deleted(self, event: RecordedEvent) -> None:
        channel_id = event.data.channel_id
        Channel.unscoped.filter(id=channel_id).update(
            deleted=True, slot=DELETED_SLOT_PREFIX + channel_id, version=event.version, updated_at=event.recorded_at
        )


register(ChannelsProjector())
