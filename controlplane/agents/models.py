"""Read models of the agents context (written only by ``projections.AgentsProjector``) and the plain storage
tables beside them (credential digests, liveness, output chunks, artifacts, the signing key), which actions
and the agent API write directly: they are observations or storage, not history (ADR 0001, ADR 0006)."""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class BootstrapToken(TenantOwned):
    """A one-time registration token. Its text is shown once; only its digest is kept (``Credential``)."""

    id = models.CharField(max_length=32, primary_key=True)
    cluster_id = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=200, blank=True, default="")
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)
    used_by_agent = models.CharField(max_length=32, blank=True, default="")
    revoked = models.BooleanField(default=False)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField()
    version = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.id


class Agent(TenantOwned):
    id = models.CharField(max_length=32, primary_key=True)
    cluster_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    member_address = models.CharField(max_length=300, blank=True, default="")
    hostname = models.CharField(max_length=253)
    agent_version = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16)  # online | stale | lost | revoked
    status_since = models.DateTimeField()
    allowlist = models.JSONField(default=list)  # action types the agent reported at registration
    facts = models.JSONField(default=dict)  # facts at registration; the latest are in AgentLiveness
    token_id = models.CharField(max_length=32, blank=True, default="")
    registered_at = models.DateTimeField()
    revoked_reason = models.CharField(max_length=200, blank=True, default="")
    version = models.PositiveIntegerField()

    class Meta:
        ordering = ["tenant_id", "workspace_id", "hostname"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.hostname} ({self.id})"


class Credential(models.Model):
    """SHA-256 digests of bootstrap tokens and agent credentials (256 random bits each, so a fast hash is
    enough). Written by the actions in the transaction of their events; never in an event payload."""

    id = models.CharField(max_length=48, primary_key=True)  # "token:<id>" | "agent:<id>"
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return self.id


class AgentLiveness(TenantOwned):
    """The latest heartbeat of an agent (one row per agent), updated in place on every heartbeat. Not an event
    and not rebuilt (as clusters' Health, ADR 0006): only the transitions it reveals go to the log."""

    agent_id = models.CharField(max_length=32, primary_key=True)
    # No index: every heartbeat updates this, and without an index on it PostgreSQL can update the row in place
    # (HOT); the liveness check reads every row of a few thousand anyway.
    last_heartbeat_at = models.DateTimeField()
    sent_at = models.CharField(max_length=40, blank=True, default="")  # the agent's clock, as it sent it
    facts = models.JSONField(default=dict)
    heartbeats = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()
        verbose_name_plural = "agent liveness"

    def __str__(self) -> str:
        return f"{self.agent_id} @ {self.last_heartbeat_at:%Y-%m-%d %H:%M:%S}"


class Action(TenantOwned):
    id = models.CharField(max_length=32, primary_key=True)
    agent_id = models.CharField(max_length=32)
    type = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=16)
    key = models.CharField(max_length=200)
    operation_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    step_key = models.CharField(max_length=200, blank=True, default="")
    requested_by = models.CharField(max_length=170, blank=True, default="")  # actor kind:id
    nonce = models.CharField(max_length=32)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    key_id = models.CharField(max_length=64, blank=True, default="")
    delivered_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    cancel_requested = models.BooleanField(default=False)
    progress_percent = models.IntegerField(null=True)
    progress_message = models.CharField(max_length=500, blank=True, default="")
    exit_code = models.IntegerField(null=True)
    result = models.JSONField(default=dict)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    output_tail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ()
        indexes = [models.Index(fields=["agent_id", "state"], name="agents_action_agent_state")]

    def __str__(self) -> str:
        return f"{self.type} on {self.agent_id} ({self.state})"


class ActionOutput(models.Model):
    """Output chunks an agent sent with its progress, bulk inserted; a re-sent seq is ignored."""

    id = models.BigAutoField(primary_key=True)
    action_id = models.CharField(max_length=32)
    seq = models.IntegerField()
    chunk = models.TextField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["action_id", "seq"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["action_id", "seq"], name="agents_output_unique_seq")]

    def __str__(self) -> str:
        return f"{self.action_id}#{self.seq}"


class ActionArtifact(models.Model):
    """A file an agent uploaded for an action, stored at DATA_DIR/artifacts/<sha256>."""

    id = models.BigAutoField(primary_key=True)
    action_id = models.CharField(max_length=32, db_index=True)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    uploaded_at = models.DateTimeField()

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["action_id", "sha256"], name="agents_artifact_unique")]

    def __str__(self) -> str:
        return f"{self.action_id}: {self.sha256[:12]}"


class SigningKey(models.Model):
    """The control plane's Ed25519 key for signing actions. The private key is sealed with the secrets store's
    envelope encryption under a master key (docs/adr: the signing key); the public key is plain."""

    key_id = models.CharField(max_length=64, primary_key=True)
    public_key = models.CharField(max_length=64)  # raw 32 bytes, base64
    scheme = models.PositiveSmallIntegerField(default=1)
    kek_id = models.CharField(max_length=64)
    wrapped_dek = models.BinaryField()
    dek_nonce = models.BinaryField()
    nonce = models.BinaryField()
    ciphertext = models.BinaryField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return self.key_id
