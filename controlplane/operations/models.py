"""Read models of operations (written only by ``projections.OperationsProjector``) and the lease table.

``OperationLease`` is not a read model: it is the engine's coordination row (who advances the operation now, until
when, and when it next needs a worker). It is not event-sourced and not rebuilt, like a cluster's Health row; a
rebuild of the read models leaves it alone (docs/adr/0012-operation-lease-and-recovery.md).
"""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class Operation(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    cluster_id = models.CharField(max_length=64, db_index=True)
    type = models.CharField(max_length=32)
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=16)
    requested_by = models.CharField(max_length=170)
    notes = models.JSONField(default=list)
    step_count = models.PositiveIntegerField(default=0)
    steps_done = models.PositiveIntegerField(default=0)  # succeeded, failed or skipped
    current_step = models.CharField(max_length=100, blank=True, default="")
    failed_step = models.CharField(max_length=100, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    result = models.JSONField(null=True, blank=True)
    cancel_requested_by = models.CharField(max_length=170, blank=True, default="")
    version = models.PositiveIntegerField()  # of the stream: the ETag
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ()
        indexes = [models.Index(fields=["tenant_id", "state"], name="operations_tenant_state")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class OperationStep(TenantOwned):
    id = models.CharField(max_length=100, primary_key=True)  # "<operation id>:<index>": the same after a rebuild
    operation_id = models.CharField(max_length=64, db_index=True)
    index = models.PositiveIntegerField()
    key = models.CharField(max_length=100)
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    runs_in = models.CharField(max_length=16)
    targets = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    batch = models.PositiveIntegerField(null=True, blank=True)
    compensation = models.CharField(max_length=64, blank=True, default="")
    continue_on_failure = models.BooleanField(default=False)
    state = models.CharField(max_length=24)
    attempt = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True, default="")
    percent = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    compensation_result = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["operation_id", "index"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["operation_id", "index"], name="operations_step_unique")]

    def __str__(self) -> str:
        return f"{self.operation_id} #{self.index} {self.key}"


class OperationLease(models.Model):
    """One row per operation while it is not finished. ``owner`` holds the lease until ``expires_at`` (taken with a
    conditional UPDATE, renewed while a step runs); ``wake_at`` is when the operation next needs a worker (a
    countdown re-check, a retry's backoff). ``operations.recover`` re-queues rows whose lease expired or whose
    wake-up passed with nobody holding them (a lost message)."""

    operation_id = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=64, blank=True, default="")  # "": free
    expires_at = models.DateTimeField(null=True, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)  # False once the operation is terminal
    takeovers = models.PositiveIntegerField(default=0)  # leases taken from an expired owner, in all
    created_at = models.DateTimeField()

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["active", "wake_at"], name="operations_lease_wake")]

    def __str__(self) -> str:
        return f"lease of {self.operation_id}: {self.owner or 'free'}"
