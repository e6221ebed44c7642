"""Secrets' API serializers: metadata out, values in only on create/update, out only through reveal."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.secrets.models import Secret

MAX_VALUE = 64 * 1024


class SecretSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="current_version")

    class Meta:
        model = Secret
        fields = ["id", "name", "description", "version", "created_at", "updated_at"]


class SecretCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    value = serializers.CharField(max_length=MAX_VALUE, trim_whitespace=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SecretValueSerializer(Input):
    value = serializers.CharField(max_length=MAX_VALUE, trim_whitespace=False)


class RevealSerializer(Input):
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class RevealedSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    value = serializers.CharField()
