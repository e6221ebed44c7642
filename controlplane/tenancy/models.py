"""Read models of tenancy, written only by ``projections.TenancyProjector``."""

from __future__ import annotations

from django.db import models


class Tenant(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    disabled = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=200, default="", blank=True)
    # None: no limit
    quota_clusters = models.PositiveIntegerField(null=True, blank=True)
    quota_jobs = models.PositiveIntegerField(null=True, blank=True)
    quota_concurrent_runs = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["slug"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["tenant_id", "slug"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="tenancy_workspace_slug")]

    def __str__(self) -> str:
        return self.name
