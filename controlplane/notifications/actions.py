"""The only writers of notifications. Channels are event-sourced (create, update, disable, enable, delete: the
``alert.manage`` point of the channel's tenant and workspace); deliveries are rows of a plain table (queue one,
redeliver a dead one), each sent after commit by the ``notifications.deliver`` task.

A channel's secrets (webhook URL, signing secret) are given in plaintext and stored at once as secrets of the
channel's workspace, named ``notification-channel.<channel id>.<field>``: the control plane stores them for the
channel (the caller needs ``alert.manage``, not ``secret.create``; the secret events carry the request's ids), and the
channel's events name them and carry a masked form only. Nothing here logs a value.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agent.outbound import DENIED_NAMES
from controlplane.eventlog.aggregates import AggregateSpec, execute
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize
from controlplane.notifications.domain import aggregate
from controlplane.notifications.domain.aggregate import ChannelState
from controlplane.notifications.domain.delivery import DeliveryState
from controlplane.notifications.domain.errors import (
    ChannelDisabled,
    ChannelExists,
    ChannelNotFound,
    DeliveryNotDead,
    DeliveryNotFound,
    NoticeInvalid,
)
from controlplane.notifications.domain.notice import Notice, notice_for_test_send
from controlplane.notifications.models import Channel, Delivery
from controlplane.notifications.selectors import channel_for_system, channel_name_taken, delivery_for_system
from controlplane.outbound.configured import configured_policy
from controlplane.outbound.policy import OutboundTargetForbidden
from controlplane.secrets import actions as secrets
from controlplane.secrets.selectors import secret_list
from controlplane.tenancy.context import bound
from controlplane.tenancy.models import Tenant, Workspace

log = logging.getLogger("controlplane.notifications")

CHANNEL = AggregateSpec[ChannelState](
    name="notifications.channel",
    initial=ChannelState,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)
MAX_DEDUP_KEY = 200


def channel_stream(channel_id: str) -> StreamRef:
    return StreamRef(type="notifications.channel", id=f"channel-{channel_id}")


def secret_name(channel_id: str, field: str) -> str:
    return f"notification-channel.{channel_id}.{field}"


def _for_secrets(metadata: Metadata) -> Metadata:
    """The control plane storing a channel's secrets for it, within the caller's request (same ids)."""
    return replace(metadata, actor=Actor.system("notifications.channel_secret"), principal=None)


def _store_secrets(
    metadata: Metadata, tenant_id: str, workspace_id: str, channel_id: str, values: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Create or update the secrets holding ``values`` ("" deletes one); returns (field -> secret name, removed)."""
    meta = replace(_for_secrets(metadata), tenant_id=tenant_id, workspace_id=workspace_id)
    stored: dict[str, str] = {}
    removed: list[str] = []
    for field, value in sorted(values.items()):
        name = secret_name(channel_id, field)
        secret_id = (
            secret_list(tenant_id=tenant_id, workspace_id=workspace_id)
            .filter(slot=name)
            .values_list("id", flat=True)
            .first()
        )
        if not value:
            if secret_id is not None:
                secrets.do_delete_secret(metadata=meta, secret_id=secret_id)
                removed.append(field)
        elif secret_id is not None:
            secrets.do_update_secret(metadata=meta, secret_id=secret_id, value=value)
            stored[field] = name
        else:
            secrets.do_create_secret(
                metadata=meta,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                name=name,
                value=value,
                description=f"{field} of notification channel {channel_id}",
            )
            stored[field] = name
    return stored, removed


def _check_policy(values: dict[str, str]) -> None:
    """Refuse at once a webhook URL whose host the outbound policy refuses without a lookup (an address, a metadata
    service's name); a name is checked when it is resolved, at each send (ending the delivery dead)."""
    url = values.get("webhook_url")
    if not url:
        return
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host in DENIED_NAMES:
            raise OutboundTargetForbidden(
                "the outbound policy refuses the webhook URL's host", field="webhook_url", rule="cloud-metadata"
            ) from None
        return
    rule = configured_policy().rule_against(address)
    if rule is not None:
        raise OutboundTargetForbidden(
            "the outbound policy refuses the webhook URL's host", field="webhook_url", rule=rule
        )


def _load_live(metadata: Metadata, channel_id: str) -> Channel:
    channel = channel_for_system(channel_id) if isinstance(channel_id, str) and len(channel_id) <= 64 else None
    foreign = channel is not None and (
        (metadata.tenant_id is not None and metadata.tenant_id != channel.tenant_id)
        or (metadata.workspace_id is not None and metadata.workspace_id != channel.workspace_id)
    )
    if channel is None or foreign:
        raise ChannelNotFound("no such notification channel", channel_id=str(channel_id)[:64])
    return channel


def _meta_for(metadata: Metadata, channel: Channel) -> Metadata:
    return replace(metadata, tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)


def do_create_channel(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    name: str,
    kind: str,
    language: str = "en",
    recipients: list[str] | None = None,
    webhook_url: str | None = None,
    signing_secret: str | None = None,
) -> str:
    """Create a channel; its secrets are stored as secrets of the workspace. Returns its id."""
    authorize(metadata, "alert.manage", tenant_id=tenant_id, workspace_id=workspace_id)
    name = aggregate.check_name(name)
    kind = aggregate.check_kind(kind)
    language = aggregate.check_language(language)
    checked_recipients = aggregate.check_recipients(kind, recipients or [])
    given = {k: v for k, v in (("webhook_url", webhook_url), ("signing_secret", signing_secret)) if v is not None}
    values = aggregate.check_secrets(kind, given)
    _check_policy(values)
    channel_id = uuid.uuid4().hex
    with transaction.atomic():
        if not Workspace.objects.filter(id=workspace_id, tenant_id=tenant_id).exists():
            raise ChannelNotFound("no such workspace in this tenant", code="WORKSPACE_NOT_FOUND", field="workspace")
        if channel_name_taken(tenant_id, workspace_id, name):
            raise ChannelExists(f"a channel named {name!r} exists in this workspace", field="name", name=name)
        stored, _ = _store_secrets(
            metadata, tenant_id, workspace_id, channel_id, {k: v for k, v in values.items() if v}
        )
        try:
            with transaction.atomic():
                execute(
                    CHANNEL,
                    channel_stream(channel_id),
                    lambda state: aggregate.create(
                        state,
                        channel_id=channel_id,
                        tenant_id=tenant_id,
                        workspace_id=workspace_id,
                        name=name,
                        kind=kind,
                        language=language,
                        recipients=checked_recipients,
                        secrets=stored,
                        shown=aggregate.masked(values),
                    ),
                    replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id),
                )
        except IntegrityError:  # another writer took the name between the check and the projector's insert
            raise ChannelExists(f"a channel named {name!r} exists in this workspace", field="name", name=name) from None
    log.info("notification channel %s (%s, %s) created in workspace %s", channel_id, name, kind, workspace_id)
    return channel_id


def do_update_channel(
    *, metadata: Metadata, channel_id: str, changes: dict[str, Any], expected_version: int | None = None
) -> None:
    """Change name, language, recipients, or give new secret values (``webhook_url``, ``signing_secret``; "" or None
    removes an optional one). The kind cannot change."""
    channel = _load_live(metadata, channel_id)
    authorize(metadata, "alert.manage", tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)
    plain = {k: v for k, v in changes.items() if k not in aggregate.SECRET_FIELDS}
    given = {k: v for k, v in changes.items() if k in aggregate.SECRET_FIELDS}
    values = aggregate.check_secrets(channel.kind, given, present=frozenset(channel.secrets))
    _check_policy(values)
    with transaction.atomic():
        if "name" in plain and channel_name_taken(
            channel.tenant_id, channel.workspace_id, aggregate.check_name(plain["name"]), other_than=channel.id
        ):
            raise ChannelExists(f"a channel named {plain['name']!r} exists in this workspace", field="name")
        stored, removed = _store_secrets(metadata, channel.tenant_id, channel.workspace_id, channel.id, values)
        try:
            with transaction.atomic():
                execute(
                    CHANNEL,
                    channel_stream(channel.id),
                    lambda state: aggregate.update(
                        state,
                        channel_id=channel.id,
                        changes=plain,
                        secrets=stored,
                        shown=aggregate.masked({k: v for k, v in values.items() if v}),
                        removed=removed,
                    ),
                    _meta_for(metadata, channel),
                    expected_version=expected_version,
                )
        except IntegrityError:
            raise ChannelExists(
                f"a channel named {plain.get('name')!r} exists in this workspace", field="name"
            ) from None


def do_disable_channel(
    *, metadata: Metadata, channel_id: str, reason: str = "", expected_version: int | None = None
) -> None:
    """Stop sending to the channel: new notices are refused, queued deliveries end dead (redeliver after enabling)."""
    channel = _load_live(metadata, channel_id)
    authorize(metadata, "alert.manage", tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)
    execute(
        CHANNEL,
        channel_stream(channel.id),
        lambda state: aggregate.disable(state, channel_id=channel.id, reason=reason),
        _meta_for(metadata, channel),
        expected_version=expected_version,
    )


def do_enable_channel(*, metadata: Metadata, channel_id: str, expected_version: int | None = None) -> None:
    channel = _load_live(metadata, channel_id)
    authorize(metadata, "alert.manage", tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)
    execute(
        CHANNEL,
        channel_stream(channel.id),
        lambda state: aggregate.enable(state, channel_id=channel.id),
        _meta_for(metadata, channel),
        expected_version=expected_version,
    )


def do_delete_channel(*, metadata: Metadata, channel_id: str, expected_version: int | None = None) -> None:
    """Delete the channel and the secrets stored for it; its deliveries stay (history), unsent ones end dead."""
    channel = _load_live(metadata, channel_id)
    authorize(metadata, "alert.manage", tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)
    with transaction.atomic():
        execute(
            CHANNEL,
            channel_stream(channel.id),
            lambda state: aggregate.delete(state, channel_id=channel.id),
            _meta_for(metadata, channel),
            expected_version=expected_version,
        )
        _store_secrets(
            metadata, channel.tenant_id, channel.workspace_id, channel.id, dict.fromkeys(channel.secrets, "")
        )
    log.info("notification channel %s (%s) deleted", channel.id, channel.name)


def do_send_notification(*, metadata: Metadata, channel_id: str, notice: Notice, dedup_key: str) -> str:
    """Queue one delivery of ``notice`` to the channel (idempotent on (channel_id, dedup_key): the same key twice
    returns the first delivery's id and sends once); the send happens after commit in a Celery task."""
    channel = _load_live(metadata, channel_id)
    authorize(metadata, "alert.manage", tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)
    if not isinstance(notice, Notice):
        raise NoticeInvalid("notice must be a Notice", field="notice")
    if not isinstance(dedup_key, str) or not 1 <= len(dedup_key) <= MAX_DEDUP_KEY:
        raise NoticeInvalid(f"dedup_key is 1..{MAX_DEDUP_KEY} characters", field="dedup_key")
    with bound(channel.tenant_id, channel.workspace_id):
        existing = Delivery.objects.filter(channel_id=channel.id, dedup_key=dedup_key).values_list("id", flat=True)
        if existing:
            return existing[0]
    if not channel.enabled:
        raise ChannelDisabled("the channel is disabled", channel_id=channel.id)
    delivery_id = uuid.uuid4().hex
    now = timezone.now()
    try:
        with transaction.atomic():
            Delivery.objects.create(
                id=delivery_id,
                tenant_id=channel.tenant_id,
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                channel_kind=channel.kind,
                dedup_key=dedup_key,
                notice=notice.to_json(),
                test=notice.kind == "test",
                state=DeliveryState.QUEUED,
                max_attempts=settings.CONTROLPLANE_NOTIFY_MAX_ATTEMPTS,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # the same key queued by another writer meanwhile: theirs is the delivery
        with bound(channel.tenant_id, channel.workspace_id):
            return Delivery.objects.get(channel_id=channel.id, dedup_key=dedup_key).id
    _enqueue(delivery_id)
    return delivery_id


def do_send_test_notification(*, metadata: Metadata, channel_id: str) -> str:
    """Queue a ``kind="test"`` notice to the channel; returns the delivery's id (the client follows that delivery)."""
    channel = _load_live(metadata, channel_id)
    authorize(metadata, "alert.manage", tenant_id=channel.tenant_id, workspace_id=channel.workspace_id)
    tenant = Tenant.objects.filter(id=channel.tenant_id).first()
    notice = notice_for_test_send(
        now=timezone.now(), channel_name=channel.name, tenant_name=tenant.name if tenant else ""
    )
    return do_send_notification(
        metadata=metadata, channel_id=channel.id, notice=notice, dedup_key=f"test:{uuid.uuid4().hex}"
    )


def do_redeliver_notification(*, metadata: Metadata, delivery_id: str) -> None:
    """Queue a dead delivery again, with its attempts counted from zero."""
    delivery = delivery_for_system(delivery_id) if isinstance(delivery_id, str) else None
    if (
        delivery is None
        or metadata.tenant_id not in (None, delivery.tenant_id)
        or (metadata.workspace_id not in (None, delivery.workspace_id))
    ):
        raise DeliveryNotFound("no such delivery", delivery_id=str(delivery_id)[:64])
    authorize(metadata, "alert.manage", tenant_id=delivery.tenant_id, workspace_id=delivery.workspace_id)
    with transaction.atomic(), bound(delivery.tenant_id, delivery.workspace_id):
        moved = Delivery.objects.filter(id=delivery.id, state=DeliveryState.DEAD).update(
            state=DeliveryState.QUEUED,
            attempts=0,
            max_attempts=settings.CONTROLPLANE_NOTIFY_MAX_ATTEMPTS,
            next_attempt_at=None,
            claimed_at=None,
            updated_at=timezone.now(),
        )
        if not moved:
            raise DeliveryNotDead("only a dead delivery can be redelivered", state=delivery.state)
        _enqueue(delivery.id)


def _enqueue(delivery_id: str) -> None:
    from controlplane.notifications.tasks import deliver

    transaction.on_commit(lambda: deliver.delay(delivery_id))
