"""One attempt of a delivery, as the ``notifications.deliver`` task runs it: take the row (only one worker sends),
resolve the channel's secrets, render, send, record the outcome and count it. The row is the record (a plain table,
not the log: docs/NOTIFICATIONS.md); nothing here logs a secret or a webhook URL."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from controlplane.instruments import count_notification
from controlplane.notifications import senders
from controlplane.notifications.domain.delivery import DeliveryState, after_failure, backoff_seconds
from controlplane.notifications.domain.notice import Notice
from controlplane.notifications.models import Channel, Delivery
from controlplane.notifications.rendering import render
from controlplane.notifications.selectors import (
    channel_for_system,
    delivery_for_system,
    old_finished_deliveries_for_system,
)
from controlplane.secrets.domain.errors import SecretNotFound, SecretsError
from controlplane.secrets.selectors import resolve_secret_refs
from controlplane.tenancy.context import bound

log = logging.getLogger("controlplane.notifications")


def sending_lease() -> timedelta:
    """How long a "sending" row is left to its worker before the re-queue takes it again: well past one send."""
    return timedelta(seconds=4 * settings.CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS + 30)


def _claim(delivery: Delivery) -> int | None:
    """Move the row to "sending" and count the attempt, if it is this worker's to send; the attempt number."""
    now = timezone.now()
    sendable = (
        Q(state=DeliveryState.QUEUED)
        | Q(state=DeliveryState.RETRYING, next_attempt_at__lte=now)
        | Q(state=DeliveryState.SENDING, claimed_at__lt=now - sending_lease())
    )
    attempt = delivery.attempts + 1
    with bound(delivery.tenant_id, delivery.workspace_id):
        taken = Delivery.objects.filter(sendable, id=delivery.id, attempts=delivery.attempts).update(
            state=DeliveryState.SENDING, attempts=attempt, claimed_at=now, updated_at=now
        )
    return attempt if taken else None


def _finish(delivery: Delivery, attempt: int, **values: object) -> None:
    with bound(delivery.tenant_id, delivery.workspace_id):
        Delivery.objects.filter(id=delivery.id, state=DeliveryState.SENDING, attempts=attempt).update(
            updated_at=timezone.now(), **values
        )


def _target(channel: Channel) -> senders.Target:
    names = {field: name for field, name in channel.secrets.items() if name}
    try:
        values = resolve_secret_refs(channel.tenant_id, channel.workspace_id, names.values()) if names else {}
    except SecretNotFound:
        raise senders.SendFailed(
            "NOTIFICATION_SECRET_MISSING",
            "a secret of the channel is gone: set it again on the channel",
            permanent=True,
        ) from None
    except SecretsError as error:  # a master key problem: an operator's to fix, then redeliver
        raise senders.SendFailed(error.code, "the channel's secrets cannot be opened") from None
    return senders.Target(
        kind=channel.kind,
        name=channel.name,
        language=channel.language,
        secrets={field: values[name] for field, name in names.items()},
        recipients=tuple(channel.recipients),
    )


def deliver(delivery_id: str) -> str:
    """One attempt; returns the state the delivery is left in (or NOT_FOUND)."""
    delivery = delivery_for_system(delivery_id)
    if delivery is None:
        return "NOT_FOUND"
    attempt = _claim(delivery)
    if attempt is None:
        return delivery.state  # another worker has it, it is done, or its retry is not due
    channel = channel_for_system(delivery.channel_id)
    target: senders.Target | None = None
    try:
        if channel is None:
            raise senders.SendFailed("NOTIFICATION_CHANNEL_NOT_FOUND", "the channel was deleted", permanent=True)
        if not channel.enabled:
            raise senders.SendFailed("NOTIFICATION_CHANNEL_DISABLED", "the channel is disabled", permanent=True)
        target = _target(channel)
        notice = Notice.from_json(delivery.notice)
        senders.send(
            target, notice, render(notice, channel.language, channel_name=channel.name), delivery_id=delivery.id
        )
    except senders.SendFailed as failure:
        return _failed(delivery, attempt, failure, target)
    now = timezone.now()
    _finish(
        delivery,
        attempt,
        state=DeliveryState.DELIVERED,
        delivered_at=now,
        next_attempt_at=None,
        last_error_code="",
        last_error="",
    )
    count_notification(delivery.channel_kind, delivered=True)
    log.info("delivery %s to channel %s delivered (attempt %s)", delivery.id, delivery.channel_id, attempt)
    return DeliveryState.DELIVERED


def _failed(delivery: Delivery, attempt: int, failure: senders.SendFailed, target: senders.Target | None) -> str:
    count_notification(delivery.channel_kind, delivered=False)
    state = DeliveryState.DEAD if failure.permanent else after_failure(attempt, delivery.max_attempts)
    message = senders.redact(failure.message, target.secrets if target else {}, limit=500)
    next_at = None
    if state == DeliveryState.RETRYING:
        delay = backoff_seconds(attempt, float(settings.CONTROLPLANE_NOTIFY_BACKOFF_SECONDS))
        next_at = timezone.now() + timedelta(seconds=delay)
    _finish(delivery, attempt, state=state, last_error_code=failure.code, last_error=message, next_attempt_at=next_at)
    log.warning(
        "delivery %s to channel %s: attempt %s of %s failed with %s; now %s",
        delivery.id,
        delivery.channel_id,
        attempt,
        delivery.max_attempts,
        failure.code,
        state,
    )
    if next_at is not None:
        from controlplane.notifications.tasks import deliver as deliver_task

        countdown = max(0.0, (next_at - timezone.now()).total_seconds())
        transaction.on_commit(lambda: deliver_task.apply_async((delivery.id,), countdown=countdown))
    return state


def purge_finished(*, batch: int = 1000) -> int:
    """Delete delivered and dead deliveries not touched for CONTROLPLANE_NOTIFY_RETENTION_DAYS (0: none), in
    batches; returns how many. Their dedup keys become free again (a notice re-sent after that is a new delivery)."""
    days = settings.CONTROLPLANE_NOTIFY_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        rows = old_finished_deliveries_for_system(before=cutoff, limit=batch)
        if not rows:
            return total
        by_place: dict[tuple[str, str], list[str]] = {}
        for delivery_id, tenant_id, workspace_id in rows:
            by_place.setdefault((tenant_id, workspace_id), []).append(delivery_id)
        for (tenant_id, workspace_id), ids in by_place.items():
            with bound(tenant_id, workspace_id):
                deleted, _ = Delivery.objects.filter(
                    id__in=ids, state__in=(DeliveryState.DELIVERED, DeliveryState.DEAD)
                ).delete()
            total += deleted
