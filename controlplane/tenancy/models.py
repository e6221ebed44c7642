"""Read models of tenancy, written only by ``projections.TenancyProjector``."""

from __future__ import annotations

from django.db import models


class Tenant(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["slug"]

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
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="tenancy_workspace_slug")]

    def __str__(self) -> str:
        return self.name
