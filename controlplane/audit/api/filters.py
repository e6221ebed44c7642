"""The audit trail's filters, for the lists and the exports: exact matches, and ``since``/``until`` (ISO 8601,
``since`` inclusive, ``until`` exclusive)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from controlplane.audit.models import ACTOR_KINDS, RESULTS, AuditRecord


class AuditFilter(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor_id")
    actor_kind = filters.ChoiceFilter(choices=ACTOR_KINDS)
    resource_type = filters.CharFilter()
    resource_id = filters.CharFilter()
    action = filters.CharFilter()
    result = filters.ChoiceFilter(choices=RESULTS)
    request_id = filters.CharFilter()
    since = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditRecord
        fields = (
            "actor",
            "actor_kind",
            "resource_type",
            "resource_id",
            "action",
            "result",
            "request_id",
            "since",
            "until",
        )


class PlatformAuditFilter(AuditFilter):
    tenant = filters.CharFilter(method="in_tenant", help_text="a tenant's id, or `none` for what belongs to none")

    class Meta(AuditFilter.Meta):
        fields = (*AuditFilter.Meta.fields, "tenant")

    def in_tenant(self, rows: QuerySet[AuditRecord], name: str, value: str) -> QuerySet[AuditRecord]:
        return rows.filter(tenant_id="" if value == "none" else value)
