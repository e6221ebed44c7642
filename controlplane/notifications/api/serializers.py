"""Notifications' API serializers: secrets in only (write-only fields), out only masked."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.notifications.domain.aggregate import (
    KINDS,
    LANGUAGES,
    MAX_NAME,
    MAX_REASON,
    MAX_RECIPIENTS,
    MAX_SIGNING_SECRET,
    MAX_URL,
)
from controlplane.notifications.models import Channel, Delivery


class ChannelSerializer(serializers.ModelSerializer):
    secrets = serializers.JSONField(source="masked", help_text="each secret field set, masked")

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "language",
            "recipients",
            "secrets",
            "enabled",
            "disabled_reason",
            "version",
            "created_at",
            "updated_at",
        ]


class ChannelCreateSerializer(Input):
    name = serializers.CharField(max_length=MAX_NAME)
    kind = serializers.ChoiceField(choices=KINDS)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, default="en")
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=320), required=False, default=list, max_length=MAX_RECIPIENTS
    )
    webhook_url = serializers.CharField(max_length=MAX_URL, required=False, write_only=True)
    signing_secret = serializers.CharField(
        max_length=MAX_SIGNING_SECRET, required=False, write_only=True, trim_whitespace=False
    )


class ChannelUpdateSerializer(Input):
    name = serializers.CharField(max_length=MAX_NAME, required=False)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False)
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=320), required=False, max_length=MAX_RECIPIENTS
    )
    webhook_url = serializers.CharField(max_length=MAX_URL, required=False, write_only=True)
    signing_secret = serializers.CharField(
        max_length=MAX_SIGNING_SECRET,
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text='"" removes an optional signing secret',
    )


class ChannelDisableSerializer(Input):
    reason = serializers.CharField(max_length=MAX_REASON, required=False, allow_blank=True, default="")


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel_id",
            "channel_kind",
            "dedup_key",
            "test",
            "state",
            "attempts",
            "max_attempts",
            "last_error_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "delivered_at",
        ]


class DeliveryDetailSerializer(DeliverySerializer):
    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "notice"]
