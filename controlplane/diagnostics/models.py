"""Read models of diagnostics, written only by ``projections.DiagnosticsProjector``: the archives a diagnosis
packed (the file itself is DATA_DIR/diagnostics/<id>.tar.gz) and the findings recorded with them."""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class DiagnosticArchive(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)  # the diagnose operation's id
    cluster_id = models.CharField(max_length=64, db_index=True)
    subject_kind = models.CharField(max_length=16)  # cluster | node | run
    subject_id = models.CharField(max_length=64)
    operation_id = models.CharField(max_length=64)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    files = models.PositiveIntegerField()
    failures = models.JSONField(default=list)
    finding_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16)  # available | expired
    downloads = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"diagnostic archive {self.id} ({self.subject_kind} {self.subject_id})"


class Finding(TenantOwned):
    id = models.CharField(max_length=80, primary_key=True)  # "<archive id>:<n>"
    archive_id = models.CharField(max_length=64, db_index=True)
    cluster_id = models.CharField(max_length=64, db_index=True)
    run_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    subject_kind = models.CharField(max_length=16)
    subject_id = models.CharField(max_length=64)
    fingerprint_id = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=16)
    score = models.FloatField()
    evidence = models.TextField(blank=True, default="")
    source_file = models.CharField(max_length=500)
    node = models.CharField(max_length=64, blank=True, default="")
    fixes = models.JSONField(default=list)  # [{"operation_id", "type", "at"}]: fixes confirmed for it
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-score", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.fingerprint_id} in {self.archive_id}"
