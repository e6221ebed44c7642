"""SecretsProjector: the ``Secret`` read model from the secret streams (timestamps from the events)."""

from __future__ import annotations

from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent
from controlplane.secrets.domain import events  # noqa: F401  (registers the event types)
from controlplane.secrets.models import DELETED_SLOT_PREFIX, Secret


class SecretsProjector(Projector):
    name = "secrets"
    read_models = (Secret,)

    @handles("secrets.secret_created")
    def on_secret_created(self, event: RecordedEvent) -> None:
        data = event.data
        Secret.unscoped.create(
            id=data.secret_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            name=data.name,
            slot=data.name,
            description=data.description,
            current_version=0,
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
        )

    @handles("secrets.secret_version_added")
    def on_secret_version_added(self, event: RecordedEvent) -> None:
        Secret.unscoped.filter(id=event.data.secret_id).update(
            current_version=event.data.version, updated_at=event.recorded_at
        )

    @handles("secrets.secret_deleted")
    def on_secret_deleted(self, event: RecordedEvent) -> None:
        secret_id = event.data.secret_id
        Secret.unscoped.filter(id=secret_id).update(
            deleted=True, slot=DELETED_SLOT_PREFIX + secret_id, updated_at=event.recorded_at
        )


register(SecretsProjector())
