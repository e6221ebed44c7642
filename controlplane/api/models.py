"""Idempotency keys: a retried POST with the same key returns the first result, never a duplicate."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    actor = models.CharField(max_length=160)  # "user:alice" or "token:<id>": keys are per caller
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)  # method, path and body of the first request
    completed = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["actor", "key"], name="api_idempotency_actor_key")]

    def __str__(self) -> str:
        return f"{self.actor} {self.key}"
