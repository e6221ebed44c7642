"""Channels (a read model of the channel streams) and deliveries (a plain table: high volume, not the log).

``Channel`` is written only by ``projections.ChannelsProjector``. ``Delivery`` is state of record, written by the
actions (queue, redeliver) and the delivery runner (each attempt): one row per notice sent to a channel, unique per
(channel, dedup key).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.notifications.domain.delivery import DeliveryState
from controlplane.tenancy.scoping import TenantOwned

DELIVERY_STATES = [(state.value, state.value) for state in DeliveryState]
DELETED_SLOT_PREFIX = "~"  # a deleted channel's slot frees its name (as secrets do)


class Channel(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(max_length=16, verbose_name=_("kind"))
    language = models.CharField(max_length=8, default="en", verbose_name=_("language"))
    recipients = models.JSONField(default=list, verbose_name=_("recipients"))
    secrets = models.JSONField(default=dict, verbose_name=_("secrets"))  # field -> name of the secret holding it
    masked = models.JSONField(default=dict, verbose_name=_("masked"))  # field -> what the API shows of it
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    disabled_reason = models.CharField(max_length=500, blank=True, default="", verbose_name=_("disabled reason"))
    deleted = models.BooleanField(default=False, verbose_name=_("deleted"))
    version = models.PositiveIntegerField(default=0, verbose_name=_("version"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    slot = models.CharField(max_length=101, verbose_name=_("slot"))

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "workspace_id", "slot"], name="notifications_channel_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Delivery(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    channel_id = models.CharField(max_length=64, db_index=True, verbose_name=_("channel id"))
    channel_kind = models.CharField(max_length=16, verbose_name=_("channel kind"))
    dedup_key = models.CharField(max_length=200, verbose_name=_("dedup key"))
    notice = models.JSONField(verbose_name=_("notice"))
    test = models.BooleanField(default=False, verbose_name=_("test"))
    state = models.CharField(max_length=16, choices=DELIVERY_STATES, db_index=True, verbose_name=_("state"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    max_attempts = models.PositiveIntegerField(verbose_name=_("max attempts"))
    last_error_code = models.CharField(max_length=64, blank=True, default="", verbose_name=_("last error code"))
    # redacted: never a secret
    last_error = models.CharField(max_length=500, blank=True, default="", verbose_name=_("last error"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("next attempt at"))
    # when the current "sending" began
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    class Meta:
        verbose_name = _("delivery")
        ordering = ["-created_at", "id"]
        default_permissions = ()
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["channel_id", "dedup_key"], name="notifications_delivery_dedup")]

    def __str__(self) -> str:
        return f"{self.id} -> {self.channel_id} ({self.state})"
