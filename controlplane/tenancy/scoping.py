"""Tenant-owned rows and the managers that scope them to the bound tenant, failing closed.

``Model.objects`` returns only rows of the bound tenant (and workspace, when one is bound), and nothing
when no tenant is bound. Crossing tenants takes ``Model.unscoped``: grep for it to review every place.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.context import current


class TenantScopedManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        ctx = current()
        if ctx is None:
            return queryset.none()
        queryset = queryset.filter(tenant_id=ctx.tenant_id)
        if ctx.workspace_id is not None:
            queryset = queryset.filter(workspace_id=ctx.workspace_id)
        return queryset


class TenantOwned(models.Model):
    """Abstract base of every tenant-owned read model: tenant and workspace on every row."""

    tenant_id = models.CharField(max_length=64, db_index=True, verbose_name=_("tenant id"))
    workspace_id = models.CharField(max_length=64, db_index=True, verbose_name=_("workspace id"))

    objects = TenantScopedManager()
    unscoped = models.Manager()  # noqa: DJ012  (the explicit escape hatch: cross-tenant reads only)

    class Meta:
        abstract = True
        base_manager_name = "unscoped"
