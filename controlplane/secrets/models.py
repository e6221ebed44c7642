"""Secret metadata (a read model) and the encrypted values (plain storage tables).

``Secret`` is written only by ``projections.SecretsProjector``. ``SecretVersion`` and ``KeyCheck`` are not
event-sourced (ADR 0001): ciphertext and wrapped keys are storage, not history; the actions write them in
the transaction that appends the events, and key rotation updates them in place.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned

DELETED_SLOT_PREFIX = "~"  # never valid in a name, so a deleted secret's slot frees its name


class Secret(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    description = models.CharField(max_length=500, blank=True, default="", verbose_name=_("description"))
    current_version = models.PositiveIntegerField(default=0, verbose_name=_("current version"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    deleted = models.BooleanField(default=False, verbose_name=_("deleted"))
    # The name while the secret lives, "~<id>" once deleted: unique per workspace on every database
    # (partial unique indexes are not portable to MariaDB or Oracle).
    slot = models.CharField(max_length=101, verbose_name=_("slot"))

    class Meta:
        verbose_name = _("secret")
        verbose_name_plural = _("secrets")
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "workspace_id", "slot"], name="secrets_secret_live_name")
        ]

    def __str__(self) -> str:
        return self.name


class SecretVersion(models.Model):
    """One encrypted value: AES-256-GCM ciphertext under a data key that is stored only wrapped."""

    secret_id = models.CharField(max_length=64, verbose_name=_("secret id"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    scheme = models.PositiveSmallIntegerField(default=1, verbose_name=_("scheme"))
    kek_id = models.CharField(max_length=64, db_index=True, verbose_name=_("kek id"))
    wrapped_dek = models.BinaryField(verbose_name=_("wrapped dek"))
    dek_nonce = models.BinaryField(verbose_name=_("dek nonce"))
    nonce = models.BinaryField(verbose_name=_("nonce"))
    ciphertext = models.BinaryField(verbose_name=_("ciphertext"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    rewrapped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("rewrapped at"))

    class Meta:
        verbose_name = _("secret version")
        verbose_name_plural = _("secret versions")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["secret_id", "version"], name="secrets_version_unique")]

    def __str__(self) -> str:
        return f"{self.secret_id} v{self.version} ({self.kek_id})"


class KeyCheck(models.Model):
    """Per master key id, an authentication tag over nothing: tells a wrong key apart from tampering."""

    kek_id = models.CharField(max_length=64, primary_key=True, verbose_name=_("kek id"))
    nonce = models.BinaryField(verbose_name=_("nonce"))
    tag = models.BinaryField(verbose_name=_("tag"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("key check")
        verbose_name_plural = _("key checks")
        default_permissions = ()

    def __str__(self) -> str:
        return self.kek_id
