"""Readers of the audit trail: one tenant's records (the API's list and the console's page read the same rows)."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.audit.models import AuditRecord


def audit_list(tenant_id: str) -> QuerySet[AuditRecord]:
    """The tenant's trail, newest first (the caller has checked ``audit.read`` on the tenant)."""
    return AuditRecord.objects.filter(tenant_id=tenant_id).order_by("-id")
