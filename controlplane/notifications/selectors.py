"""Reads of channels and deliveries. Tenant and workspace are bound for the read (fail closed); the
``*_for_system`` readers serve the delivery task and the alerts app, which act for the control plane."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.notifications.domain.errors import ChannelNotFound, DeliveryNotFound
from controlplane.notifications.models import Channel, Delivery
from controlplane.tenancy.context import bound


def channel_list(*, tenant_id: str, workspace_id: str | None) -> QuerySet[Channel]:
    """The live channels of the tenant's workspace (None: of every workspace of the tenant, the console's "all
    workspaces")."""
    with bound(tenant_id, workspace_id):
        return Channel.objects.filter(deleted=False).order_by("name")


def channel_get(*, tenant_id: str, workspace_id: str, channel_id: str) -> Channel:
    with bound(tenant_id, workspace_id):
        channel = Channel.objects.filter(id=channel_id, deleted=False).first()
    if channel is None:
        raise ChannelNotFound("no such notification channel", channel_id=channel_id)
    return channel


def channel_name_taken(tenant_id: str, workspace_id: str, name: str, *, other_than: str = "") -> bool:
    with bound(tenant_id, workspace_id):
        return Channel.objects.filter(slot=name, deleted=False).exclude(id=other_than).exists()


def delivery_list(*, tenant_id: str, workspace_id: str | None) -> QuerySet[Delivery]:
    with bound(tenant_id, workspace_id):
        return Delivery.objects.all()


def delivery_get(*, tenant_id: str, workspace_id: str, delivery_id: str) -> Delivery:
    with bound(tenant_id, workspace_id):
        delivery = Delivery.objects.filter(id=delivery_id).first()
    if delivery is None:
        raise DeliveryNotFound("no such delivery", delivery_id=delivery_id)
    return delivery


def channel_for_system(channel_id: str) -> Channel | None:
    """A live channel in any tenant (the caller's metadata names the tenant it may act in)."""
    return Channel.unscoped.filter(id=channel_id, deleted=False).first()


def delivery_for_system(delivery_id: str) -> Delivery | None:
    return Delivery.unscoped.filter(id=delivery_id).first()


def due_deliveries_for_system(*, now, stale_before, limit: int = 500) -> list[str]:  # type: ignore[no-untyped-def]
    """Ids of deliveries to hand a worker again: retries whose time has come, and sends whose worker went quiet
    (claimed before ``stale_before``)."""
    retrying = Delivery.unscoped.filter(state="retrying", next_attempt_at__lte=now)
    stale = Delivery.unscoped.filter(state="sending", claimed_at__lt=stale_before)
    queued = Delivery.unscoped.filter(state="queued", updated_at__lt=stale_before)  # its task message was lost
    ids: list[str] = []
    for rows in (retrying, stale, queued):
        ids += list(rows.order_by("updated_at").values_list("id", flat=True)[:limit])
    return ids[:limit]


def old_finished_deliveries_for_system(*, before, limit: int) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(id, tenant, workspace) of delivered or dead deliveries last changed before ``before`` (the retention purge)."""
    rows = Delivery.unscoped.filter(state__in=("delivered", "dead"), updated_at__lt=before).order_by("updated_at")
    return list(rows.values_list("id", "tenant_id", "workspace_id")[:limit])


def channels_for_platform() -> QuerySet[Channel]:
    """Every tenant's channels, for the console (platform staff)."""
    return Channel.unscoped.all()


def deliveries_for_platform() -> QuerySet[Delivery]:
    return Delivery.unscoped.all()
