"""Idempotency keys: a retried POST with the same key returns the first result, never a duplicate."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    # "user:alice" or "token:<id>": keys are per caller
    actor = models.CharField(max_length=160, verbose_name=_("actor"))
    key = models.CharField(max_length=128, verbose_name=_("key"))
    # method, path and body of the first request
    fingerprint = models.CharField(max_length=64, verbose_name=_("fingerprint"))
    completed = models.BooleanField(default=False, verbose_name=_("completed"))
    status_code = models.PositiveSmallIntegerField(null=True, verbose_name=_("status code"))
    response_body = models.TextField(default="", verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["actor", "key"], name="api_idempotency_actor_key")]

    def __str__(self) -> str:
        return f"{self.actor} {self.key}"
