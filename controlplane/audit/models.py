"""The audit trail: one row per write attempt (ok, denied, or failed with a code), from every entry point.

Event-sourced changes also carry the same who/where/request in their events' metadata; this table adds
what events cannot hold: denied attempts, failed logins, failed writes, and writes to tables that are
not event-sourced. Rows are only ever inserted (``recorder.record``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

RESULTS = [("ok", "ok"), ("denied", "denied"), ("failed", "failed")]
ACTOR_KINDS = [
    ("user", "user"),
    ("token", "token"),
    ("agent", "agent"),
    ("system", "system"),
    ("anonymous", "anonymous"),
]


class AuditRecord(models.Model):
    id = models.BigAutoField(primary_key=True, verbose_name=_("ID"))
    occurred_at = models.DateTimeField(db_index=True, verbose_name=_("occurred at"))
    tenant_id = models.CharField(max_length=64, default="", blank=True, verbose_name=_("tenant id"))
    workspace_id = models.CharField(max_length=64, default="", blank=True, verbose_name=_("workspace id"))
    actor_kind = models.CharField(max_length=16, choices=ACTOR_KINDS, verbose_name=_("actor kind"))
    actor_id = models.CharField(max_length=150, default="", blank=True, verbose_name=_("actor id"))
    client_address = models.CharField(max_length=64, default="", blank=True, verbose_name=_("client address"))
    user_agent = models.CharField(max_length=300, default="", blank=True, verbose_name=_("user agent"))
    request_id = models.CharField(max_length=64, default="", blank=True, verbose_name=_("request id"))
    resource_type = models.CharField(max_length=64, verbose_name=_("resource type"))
    resource_id = models.CharField(max_length=150, default="", blank=True, verbose_name=_("resource id"))
    action = models.CharField(max_length=64, verbose_name=_("action"))
    result = models.CharField(max_length=8, choices=RESULTS, verbose_name=_("result"))
    error_code = models.CharField(max_length=64, default="", blank=True, verbose_name=_("error code"))
    details = models.TextField(default="{}", blank=True, verbose_name=_("details"))  # JSON text, never secret values

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant_id", "id"], name="audit_tenant_id"),
            models.Index(fields=["tenant_id", "actor_id", "id"], name="audit_tenant_actor"),
            models.Index(fields=["tenant_id", "resource_type", "id"], name="audit_tenant_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_kind}:{self.actor_id} {self.action} {self.result}"
