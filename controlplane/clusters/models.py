"""The cluster read model, written only by ``projections.ClustersProjector``."""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class Cluster(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    form = models.CharField(max_length=16)
    mode = models.CharField(max_length=16)
    engine_version = models.CharField(max_length=32)
    endpoints = models.JSONField(default=list)
    context_path = models.CharField(max_length=200, blank=True, default="")
    auth_secret = models.CharField(max_length=100, blank=True, default="")
    labels = models.JSONField(default=dict)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    removed = models.BooleanField(default=False)

    class Meta:
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name
