"""Read models of operations (written only by ``projections.OperationsProjector``) and the lease table.

``OperationLease`` is not a read model: it is the engine's coordination row (who advances the operation now, until
when, and when it next needs a worker). It is not event-sourced and not rebuilt, like a cluster's Health row; a
rebuild of the read models leaves it alone (docs/adr/0012-operation-lease-and-recovery.md).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned


class Operation(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    cluster_id = models.CharField(max_length=64, db_index=True, verbose_name=_("cluster id"))
    type = models.CharField(max_length=32, verbose_name=_("type"))
    params = models.JSONField(default=dict, verbose_name=_("params"))
    state = models.CharField(max_length=16, verbose_name=_("state"))
    requested_by = models.CharField(max_length=170, verbose_name=_("requested by"))
    notes = models.JSONField(default=list, verbose_name=_("notes"))
    step_count = models.PositiveIntegerField(default=0, verbose_name=_("step count"))
    steps_done = models.PositiveIntegerField(default=0, verbose_name=_("steps done"))  # succeeded, failed or skipped
    current_step = models.CharField(max_length=100, blank=True, default="", verbose_name=_("current step"))
    failed_step = models.CharField(max_length=100, blank=True, default="", verbose_name=_("failed step"))
    error_code = models.CharField(max_length=64, blank=True, default="", verbose_name=_("error code"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    result = models.JSONField(null=True, blank=True, verbose_name=_("result"))
    cancel_requested_by = models.CharField(
        max_length=170, blank=True, default="", verbose_name=_("cancel requested by")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"))  # of the stream: the ETag
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
        ordering = ["-created_at"]
        default_permissions = ()
        indexes = [models.Index(fields=["tenant_id", "state"], name="operations_tenant_state")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class OperationStep(TenantOwned):
    # "<operation id>:<index>": the same after a rebuild
    id = models.CharField(max_length=100, primary_key=True, verbose_name=_("ID"))
    operation_id = models.CharField(max_length=64, db_index=True, verbose_name=_("operation id"))
    index = models.PositiveIntegerField(verbose_name=_("index"))
    key = models.CharField(max_length=100, verbose_name=_("key"))
    kind = models.CharField(max_length=64, verbose_name=_("kind"))
    title = models.CharField(max_length=300, verbose_name=_("title"))
    runs_in = models.CharField(max_length=16, verbose_name=_("runs in"))
    targets = models.JSONField(default=list, verbose_name=_("targets"))
    params = models.JSONField(default=dict, verbose_name=_("params"))
    batch = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("batch"))
    compensation = models.CharField(max_length=64, blank=True, default="", verbose_name=_("compensation"))
    continue_on_failure = models.BooleanField(default=False, verbose_name=_("continue on failure"))
    state = models.CharField(max_length=24, verbose_name=_("state"))
    attempt = models.PositiveIntegerField(default=0, verbose_name=_("attempt"))
    retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retry at"))
    message = models.CharField(max_length=500, blank=True, default="", verbose_name=_("message"))
    percent = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("percent"))
    result = models.JSONField(null=True, blank=True, verbose_name=_("result"))
    error_code = models.CharField(max_length=64, blank=True, default="", verbose_name=_("error code"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    compensation_result = models.JSONField(null=True, blank=True, verbose_name=_("compensation result"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("operation step")
        verbose_name_plural = _("operation steps")
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

    operation_id = models.CharField(max_length=64, primary_key=True, verbose_name=_("operation id"))
    owner = models.CharField(max_length=64, blank=True, default="", verbose_name=_("owner"))  # "": free
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    wake_at = models.DateTimeField(null=True, blank=True, verbose_name=_("wake at"))
    active = models.BooleanField(default=True, verbose_name=_("active"))  # False once the operation is terminal
    # leases taken from an expired owner, in all
    takeovers = models.PositiveIntegerField(default=0, verbose_name=_("takeovers"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("operation lease")
        verbose_name_plural = _("operation leases")
        default_permissions = ()
        indexes = [models.Index(fields=["active", "wake_at"], name="operations_lease_wake")]

    def __str__(self) -> str:
        return f"lease of {self.operation_id}: {self.owner or 'free'}"
