"""Alerts' API serializers. Inputs are documented here and validated by the domain (codes with ``details.field``)."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.alerts.domain.rules import KINDS, SEVERITIES
from controlplane.alerts.models import Alert, AlertRule, Silence

# Named for the OpenAPI document (settings ENUM_NAME_OVERRIDES): several components have a "status" of their own.
ALERT_STATUSES = ("firing", "resolved")
SILENCE_STATUSES = ("active", "ended", "expired")


class MatcherSerializer(serializers.Serializer):
    name = serializers.CharField()
    op = serializers.ChoiceField(choices=["=", "!=", "=~", "!~"])
    value = serializers.CharField(allow_blank=True)


class RuleSerializer(serializers.ModelSerializer):
    matchers = MatcherSerializer(many=True)
    labels = serializers.DictField(child=serializers.CharField())
    group_by = serializers.ListField(child=serializers.CharField())
    channel_ids = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "kind",
            "params",
            "matchers",
            "severity",
            "labels",
            "group_by",
            "for_seconds",
            "repeat_interval_seconds",
            "resolve_after_seconds",
            "channel_ids",
            "enabled",
            "version",
            "created_at",
            "updated_at",
        ]


class RuleWriteSerializer(serializers.Serializer):
    """The body of a create (``kind``, ``name`` required) or a PATCH (any subset; ``kind`` cannot change)."""

    name = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=list(KINDS), required=False)
    params = serializers.DictField(required=False)
    matchers = MatcherSerializer(many=True, required=False)
    severity = serializers.ChoiceField(choices=list(SEVERITIES), required=False)
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    group_by = serializers.ListField(child=serializers.CharField(), required=False)
    for_seconds = serializers.IntegerField(required=False)
    repeat_interval_seconds = serializers.IntegerField(required=False)
    resolve_after_seconds = serializers.IntegerField(required=False)
    channel_ids = serializers.ListField(child=serializers.CharField(), required=False)
    enabled = serializers.BooleanField(required=False)


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "episode",
            "status",
            "source",
            "rule_id",
            "rule_name",
            "severity",
            "cluster",
            "labels",
            "annotations",
            "summary",
            "starts_at",
            "ends_at",
            "resolved_reason",
            "channel_ids",
            "group_key",
            "silenced",
            "silenced_by",
            "inhibited",
            "inhibited_by",
            "acknowledged",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledge_comment",
            "version",
            "updated_at",
        ]


class AcknowledgeSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class SilenceSerializer(serializers.ModelSerializer):
    matchers = MatcherSerializer(many=True)

    class Meta:
        model = Silence
        fields = [
            "id",
            "matchers",
            "starts_at",
            "ends_at",
            "author",
            "reason",
            "status",
            "ended_by",
            "ended_at",
            "version",
            "created_at",
        ]


class SilenceWriteSerializer(serializers.Serializer):
    matchers = MatcherSerializer(many=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()


class WebhookAlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ALERT_STATUSES)
    labels = serializers.DictField(child=serializers.CharField())
    annotations = serializers.DictField(child=serializers.CharField(), required=False)
    startsAt = serializers.CharField()
    endsAt = serializers.CharField(required=False)
    generatorURL = serializers.CharField(required=False)
    fingerprint = serializers.CharField(required=False)


class WebhookSerializer(serializers.Serializer):
    """Alertmanager's webhook body, version 4."""

    version = serializers.CharField()
    status = serializers.ChoiceField(choices=ALERT_STATUSES)
    receiver = serializers.CharField(required=False)
    groupKey = serializers.CharField(required=False)
    alerts = WebhookAlertSerializer(many=True)


class ReceivedSerializer(serializers.Serializer):
    fired = serializers.IntegerField()
    resolved = serializers.IntegerField()
    unchanged = serializers.IntegerField()
