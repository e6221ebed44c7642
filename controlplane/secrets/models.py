"""Secret metadata (a read model) and the encrypted values (plain storage tables).

``Secret`` is written only by ``projections.SecretsProjector``. ``SecretVersion`` and ``KeyCheck`` are not
event-sourced (ADR 0001): ciphertext and wrapped keys are storage, not history; the actions write them in
the transaction that appends the events, and key rotation updates them in place.
"""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned

DELETED_SLOT_PREFIX = "~"  # never valid in a name, so a deleted secret's slot frees its name


class Secret(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    current_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)
    # The name while the secret lives, "~<id>" once deleted: unique per workspace on every database
    # (partial unique indexes are not portable to MariaDB or Oracle).
    slot = models.CharField(max_length=101)

    class Meta:
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "workspace_id", "slot"], name="secrets_secret_live_name")
        ]

    def __str__(self) -> str:
        return self.name


class SecretVersion(models.Model):
    """One encrypted value: AES-256-GCM ciphertext under a data key that is stored only wrapped."""

    secret_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    scheme = models.PositiveSmallIntegerField(default=1)
    kek_id = models.CharField(max_length=64, db_index=True)
    wrapped_dek = models.BinaryField()
    dek_nonce = models.BinaryField()
    nonce = models.BinaryField()
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField()
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["secret_id", "version"], name="secrets_version_unique")]

    def __str__(self) -> str:
        return f"{self.secret_id} v{self.version} ({self.kek_id})"


class KeyCheck(models.Model):
    """Per master key id, an authentication tag over nothing: tells a wrong key apart from tampering."""

    kek_id = models.CharField(max_length=64, primary_key=True)
    nonce = models.BinaryField()
    tag = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return self.kek_id
