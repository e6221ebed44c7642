"""Read models of diagnostics, written only by ``projections.DiagnosticsProjector``: the archives a diagnosis
packed (the file itself is DATA_DIR/diagnostics/<id>.tar.gz) and the findings recorded with them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned


class DiagnosticArchive(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))  # the diagnose operation's id
    cluster_id = models.CharField(max_length=64, db_index=True, verbose_name=_("cluster id"))
    subject_kind = models.CharField(max_length=16, verbose_name=_("subject kind"))  # cluster | node | run
    subject_id = models.CharField(max_length=64, verbose_name=_("subject id"))
    operation_id = models.CharField(max_length=64, verbose_name=_("operation id"))
    size = models.BigIntegerField(verbose_name=_("size"))
    sha256 = models.CharField(max_length=64, verbose_name=_("sha256"))
    files = models.PositiveIntegerField(verbose_name=_("files"))
    failures = models.JSONField(default=list, verbose_name=_("failures"))
    finding_count = models.PositiveIntegerField(default=0, verbose_name=_("finding count"))
    state = models.CharField(max_length=16, verbose_name=_("state"))  # available | expired
    downloads = models.PositiveIntegerField(default=0, verbose_name=_("downloads"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))
    expired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expired at"))

    class Meta:
        verbose_name = _("diagnostic archive")
        verbose_name_plural = _("diagnostic archives")
        ordering = ["-created_at", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"diagnostic archive {self.id} ({self.subject_kind} {self.subject_id})"


class Finding(TenantOwned):
    id = models.CharField(max_length=80, primary_key=True, verbose_name=_("ID"))  # "<archive id>:<n>"
    archive_id = models.CharField(max_length=64, db_index=True, verbose_name=_("archive id"))
    cluster_id = models.CharField(max_length=64, db_index=True, verbose_name=_("cluster id"))
    run_id = models.CharField(max_length=64, blank=True, default="", db_index=True, verbose_name=_("run id"))
    subject_kind = models.CharField(max_length=16, verbose_name=_("subject kind"))
    subject_id = models.CharField(max_length=64, verbose_name=_("subject id"))
    fingerprint_id = models.CharField(max_length=100, verbose_name=_("fingerprint id"))
    title = models.CharField(max_length=300, verbose_name=_("title"))
    severity = models.CharField(max_length=16, verbose_name=_("severity"))
    score = models.FloatField(verbose_name=_("score"))
    evidence = models.TextField(blank=True, default="", verbose_name=_("evidence"))
    source_file = models.CharField(max_length=500, verbose_name=_("source file"))
    node = models.CharField(max_length=64, blank=True, default="", verbose_name=_("node"))
    # [{"operation_id", "type", "at"}]: fixes confirmed for it
    fixes = models.JSONField(default=list, verbose_name=_("fixes"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-created_at", "-score", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.fingerprint_id} in {self.archive_id}"
