"""Read models of alerts (written only by ``projections.AlertsProjector``) and the evaluator's observations.

``Observation`` is state of record (an observation, like ``jobs_runtelemetry``): since when a condition has held
(a rule's ``for``), and the last count of a run's records and when it moved (``no_progress``). Never events.
"""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class AlertRule(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32)
    params = models.JSONField(default=dict)
    matchers = models.JSONField(default=list)
    severity = models.CharField(max_length=16)
    labels = models.JSONField(default=dict)
    group_by = models.JSONField(default=list)
    for_seconds = models.PositiveIntegerField(default=0)
    repeat_interval_seconds = models.PositiveIntegerField()
    resolve_after_seconds = models.PositiveIntegerField(default=0)
    channel_ids = models.JSONField(default=list)  # notification channel ids; routing is the notifications app's
    enabled = models.BooleanField(default=True)
    deleted = models.BooleanField(default=False)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        default_permissions = ()
        indexes = [models.Index(fields=["kind", "enabled", "deleted"], name="alerts_rule_kind")]

    def __str__(self) -> str:
        return f"alert rule {self.name}"


class Alert(TenantOwned):
    """The latest episode of one fingerprint."""

    id = models.CharField(max_length=64, primary_key=True)  # the fingerprint
    episode = models.PositiveIntegerField()
    status = models.CharField(max_length=16)  # firing | resolved
    source = models.CharField(max_length=16)  # controlplane | prometheus
    rule_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    rule_name = models.CharField(max_length=200)
    severity = models.CharField(max_length=16)
    cluster = models.CharField(max_length=200, blank=True, default="")  # labels["cluster"], for the list filter
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    summary = models.TextField(blank=True, default="")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    resolved_reason = models.CharField(max_length=32, blank=True, default="")
    channel_ids = models.JSONField(default=list)
    group_key = models.CharField(max_length=1000, blank=True, default="")
    repeat_interval_seconds = models.PositiveIntegerField()
    silenced_by = models.JSONField(default=list)
    inhibited_by = models.JSONField(default=list)
    silenced = models.BooleanField(default=False)
    inhibited = models.BooleanField(default=False)
    acknowledged = models.BooleanField(default=False)
    acknowledged_by = models.CharField(max_length=170, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_comment = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "id"]
        default_permissions = ()
        indexes = [models.Index(fields=["status", "severity"], name="alerts_alert_status")]

    def __str__(self) -> str:
        return f"alert {self.rule_name} ({self.id[:8]})"


class Silence(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    matchers = models.JSONField(default=list)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    author = models.CharField(max_length=170)
    reason = models.TextField()
    status = models.CharField(max_length=16)  # active | ended | expired
    ended_by = models.CharField(max_length=170, blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"silence {self.id}"


class Observation(TenantOwned):
    id = models.CharField(max_length=200, primary_key=True)  # "p:<rule id>:<fingerprint>" | "c:<rule id>:<run id>"
    rule_id = models.CharField(max_length=64, db_index=True)
    value = models.FloatField(null=True, blank=True)
    since = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"observation {self.id}"
