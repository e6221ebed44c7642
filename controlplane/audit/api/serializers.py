"""The audit trail's API serializer; FIELDS is also the column order of exports."""

from __future__ import annotations

import json

from rest_framework import serializers

from controlplane.audit.models import AuditRecord

FIELDS = [
    "id",
    "occurred_at",
    "tenant_id",
    "workspace_id",
    "actor_kind",
    "actor_id",
    "client_address",
    "user_agent",
    "request_id",
    "resource_type",
    "resource_id",
    "action",
    "result",
    "error_code",
    "details",
]


class AuditRecordSerializer(serializers.ModelSerializer):
    details = serializers.SerializerMethodField()

    class Meta:
        model = AuditRecord
        fields = FIELDS

    def get_details(self, row: AuditRecord) -> dict:
        return json.loads(row.details or "{}")
