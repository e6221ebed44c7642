"""Channels (a read model of the channel streams) and deliveries (a plain table: high volume, not the log).

``Channel`` is written only by ``projections.ChannelsProjector``. ``Delivery`` is state of record, written by the
actions (queue, redeliver) and the delivery runner (each attempt): one row per notice sent to a channel, unique per
(channel, dedup key).
"""

from __future__ import annotations

from django.db import models

from controlplane.notifications.domain.delivery import DeliveryState
from controlplane.tenancy.scoping import TenantOwned

DELIVERY_STATES = [(state.value, state.value) for state in DeliveryState]
DELETED_SLOT_PREFIX = "~"  # a deleted channel's slot frees its name (as secrets do)


class Channel(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16)
    language = models.CharField(max_length=8, default="en")
    recipients = models.JSONField(default=list)
    secrets = models.JSONField(default=dict)  # field -> name of the secret holding it
    masked = models.JSONField(default=dict)  # field -> what the API shows of it
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    deleted = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    slot = models.CharField(max_length=101)

    class Meta:
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "workspace_id", "slot"], name="notifications_channel_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Delivery(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    channel_id = models.CharField(max_length=64, db_index=True)
    channel_kind = models.CharField(max_length=16)
    dedup_key = models.CharField(max_length=200)
    notice = models.JSONField()
    test = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=DELIVERY_STATES, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField()
    last_error_code = models.CharField(max_length=64, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")  # redacted: never a secret
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when the current "sending" began
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        default_permissions = ()
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["channel_id", "dedup_key"], name="notifications_delivery_dedup")]

    def __str__(self) -> str:
        return f"{self.id} -> {self.channel_id} ({self.state})"
