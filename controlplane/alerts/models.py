"""Read models of alerts (written only by ``projections.AlertsProjector``) and the evaluator's observations.

``Observation`` is state of record (an observation, like ``jobs_runtelemetry``): since when a condition has held
(a rule's ``for``), and the last count of a run's records and when it moved (``no_progress``). Never events.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned


class AlertRule(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(max_length=32, verbose_name=_("kind"))
    params = models.JSONField(default=dict, verbose_name=_("params"))
    matchers = models.JSONField(default=list, verbose_name=_("matchers"))
    severity = models.CharField(max_length=16, verbose_name=_("severity"))
    labels = models.JSONField(default=dict, verbose_name=_("labels"))
    group_by = models.JSONField(default=list, verbose_name=_("group by"))
    for_seconds = models.PositiveIntegerField(default=0, verbose_name=_("for seconds"))
    repeat_interval_seconds = models.PositiveIntegerField(verbose_name=_("repeat interval seconds"))
    resolve_after_seconds = models.PositiveIntegerField(default=0, verbose_name=_("resolve after seconds"))
    # notification channel ids; routing is the notifications app's
    channel_ids = models.JSONField(default=list, verbose_name=_("channel ids"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    deleted = models.BooleanField(default=False, verbose_name=_("deleted"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["name", "id"]
        default_permissions = ()
        indexes = [models.Index(fields=["kind", "enabled", "deleted"], name="alerts_rule_kind")]

    def __str__(self) -> str:
        return f"alert rule {self.name}"


class Alert(TenantOwned):
    """The latest episode of one fingerprint."""

    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))  # the fingerprint
    episode = models.PositiveIntegerField(verbose_name=_("episode"))
    status = models.CharField(max_length=16, verbose_name=_("status"))  # firing | resolved
    source = models.CharField(max_length=16, verbose_name=_("source"))  # controlplane | prometheus
    rule_id = models.CharField(max_length=64, blank=True, default="", db_index=True, verbose_name=_("rule id"))
    rule_name = models.CharField(max_length=200, verbose_name=_("rule name"))
    severity = models.CharField(max_length=16, verbose_name=_("severity"))
    # labels["cluster"], for the list filter
    cluster = models.CharField(max_length=200, blank=True, default="", verbose_name=_("cluster"))
    labels = models.JSONField(default=dict, verbose_name=_("labels"))
    annotations = models.JSONField(default=dict, verbose_name=_("annotations"))
    summary = models.TextField(blank=True, default="", verbose_name=_("summary"))
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    resolved_reason = models.CharField(max_length=32, blank=True, default="", verbose_name=_("resolved reason"))
    channel_ids = models.JSONField(default=list, verbose_name=_("channel ids"))
    group_key = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("group key"))
    repeat_interval_seconds = models.PositiveIntegerField(verbose_name=_("repeat interval seconds"))
    silenced_by = models.JSONField(default=list, verbose_name=_("silenced by"))
    inhibited_by = models.JSONField(default=list, verbose_name=_("inhibited by"))
    silenced = models.BooleanField(default=False, verbose_name=_("silenced"))
    inhibited = models.BooleanField(default=False, verbose_name=_("inhibited"))
    acknowledged = models.BooleanField(default=False, verbose_name=_("acknowledged"))
    acknowledged_by = models.CharField(max_length=170, blank=True, default="", verbose_name=_("acknowledged by"))
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    acknowledge_comment = models.TextField(blank=True, default="", verbose_name=_("acknowledge comment"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-starts_at", "id"]
        default_permissions = ()
        indexes = [models.Index(fields=["status", "severity"], name="alerts_alert_status")]

    def __str__(self) -> str:
        return f"alert {self.rule_name} ({self.id[:8]})"


class Silence(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    matchers = models.JSONField(default=list, verbose_name=_("matchers"))
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    author = models.CharField(max_length=170, verbose_name=_("author"))
    reason = models.TextField(verbose_name=_("reason"))
    status = models.CharField(max_length=16, verbose_name=_("status"))  # active | ended | expired
    ended_by = models.CharField(max_length=170, blank=True, default="", verbose_name=_("ended by"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("silence")
        verbose_name_plural = _("silences")
        ordering = ["-starts_at", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"silence {self.id}"


class Observation(TenantOwned):
    # "p:<rule id>:<fingerprint>" | "c:<rule id>:<run id>"
    id = models.CharField(max_length=200, primary_key=True, verbose_name=_("ID"))
    rule_id = models.CharField(max_length=64, db_index=True, verbose_name=_("rule id"))
    value = models.FloatField(null=True, blank=True, verbose_name=_("value"))
    since = models.DateTimeField(verbose_name=_("since"))

    class Meta:
        verbose_name = _("observation")
        verbose_name_plural = _("observations")
        default_permissions = ()

    def __str__(self) -> str:
        return f"observation {self.id}"
