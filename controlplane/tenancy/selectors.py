"""Reads of tenancy for views, always given the user (visibility is decided by iam.access)."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.tenancy.models import Tenant, Workspace


def tenant_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def workspace_by_slug(tenant: Tenant, slug: str) -> Workspace | None:
    return Workspace.objects.filter(tenant=tenant, slug=slug).first()


def workspaces_of(tenant: Tenant) -> QuerySet[Workspace]:
    return Workspace.objects.filter(tenant=tenant).order_by("slug")
