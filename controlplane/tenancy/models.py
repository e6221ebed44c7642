"""Read models of tenancy, written only by ``projections.TenancyProjector``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Tenant(models.Model):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    slug = models.SlugField(max_length=50, unique=True, verbose_name=_("slug"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    disabled = models.BooleanField(default=False, verbose_name=_("disabled"))
    disabled_reason = models.CharField(max_length=200, default="", blank=True, verbose_name=_("disabled reason"))
    # None: no limit
    quota_clusters = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("quota clusters"))
    quota_jobs = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("quota jobs"))
    quota_concurrent_runs = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("quota concurrent runs"))

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["slug"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workspaces", verbose_name=_("tenant"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    slug = models.SlugField(max_length=50, verbose_name=_("slug"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        ordering = ["tenant_id", "slug"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="tenancy_workspace_slug")]

    def __str__(self) -> str:
        return self.name
