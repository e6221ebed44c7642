"""Read models of jobs, written only by ``projections.JobsProjector``."""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class Job(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    labels = models.JSONField(default=dict)
    cluster_id = models.CharField(max_length=64)
    mode = models.CharField(max_length=16)  # of the current version
    current_version = models.PositiveIntegerField()
    version = models.PositiveIntegerField()  # of the stream: the ETag
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


class JobVersion(TenantOwned):
    """One immutable config version of a job."""

    id = models.CharField(max_length=80, primary_key=True)  # "<job id>:<version>": the same after a rebuild
    job_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    text = models.TextField()
    normalised = models.JSONField()
    mode = models.CharField(max_length=16)
    message = models.CharField(max_length=500, blank=True, default="")
    author = models.CharField(max_length=170)
    rolled_back_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["job_id", "version"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["job_id", "version"], name="jobs_version_unique")]

    def __str__(self) -> str:
        return f"{self.job_id} v{self.version}"
