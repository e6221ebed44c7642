"""Read models of the agents context (written only by ``projections.AgentsProjector``) and the plain storage
tables beside them (credential digests, liveness, output chunks, artifacts, the signing key), which actions
and the agent API write directly: they are observations or storage, not history (ADR 0001, ADR 0006)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned


class BootstrapToken(TenantOwned):
    """A one-time registration token. Its text is shown once; only its digest is kept (``Credential``)."""

    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    cluster_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("cluster id"))
    description = models.CharField(max_length=200, blank=True, default="", verbose_name=_("description"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used = models.BooleanField(default=False, verbose_name=_("used"))
    used_by_agent = models.CharField(max_length=32, blank=True, default="", verbose_name=_("used by agent"))
    revoked = models.BooleanField(default=False, verbose_name=_("revoked"))
    created_by = models.CharField(max_length=150, blank=True, default="", verbose_name=_("created by"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    version = models.PositiveIntegerField(verbose_name=_("version"))

    class Meta:
        verbose_name = _("bootstrap token")
        verbose_name_plural = _("bootstrap tokens")
        ordering = ["-created_at"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.id


class Agent(TenantOwned):
    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    cluster_id = models.CharField(max_length=64, blank=True, default="", db_index=True, verbose_name=_("cluster id"))
    member_address = models.CharField(max_length=300, blank=True, default="", verbose_name=_("member address"))
    hostname = models.CharField(max_length=253, verbose_name=_("hostname"))
    agent_version = models.CharField(max_length=64, blank=True, default="", verbose_name=_("agent version"))
    status = models.CharField(max_length=16, verbose_name=_("status"))  # online | stale | lost | revoked
    status_since = models.DateTimeField(verbose_name=_("status since"))
    # action types the agent reported at registration
    allowlist = models.JSONField(default=list, verbose_name=_("allowlist"))
    # facts at registration; the latest are in AgentLiveness
    facts = models.JSONField(default=dict, verbose_name=_("facts"))
    token_id = models.CharField(max_length=32, blank=True, default="", verbose_name=_("token id"))
    registered_at = models.DateTimeField(verbose_name=_("registered at"))
    revoked_reason = models.CharField(max_length=200, blank=True, default="", verbose_name=_("revoked reason"))
    version = models.PositiveIntegerField(verbose_name=_("version"))

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["tenant_id", "workspace_id", "hostname"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.hostname} ({self.id})"


class Credential(models.Model):
    """SHA-256 digests of bootstrap tokens and agent credentials (256 random bits each, so a fast hash is
    enough). Written by the actions in the transaction of their events; never in an event payload."""

    id = models.CharField(max_length=48, primary_key=True, verbose_name=_("ID"))  # "token:<id>" | "agent:<id>"
    digest = models.CharField(max_length=64, unique=True, verbose_name=_("digest"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")
        default_permissions = ()

    def __str__(self) -> str:
        return self.id


class AgentLiveness(TenantOwned):
    """The latest heartbeat of an agent (one row per agent), updated in place on every heartbeat. Not an event
    and not rebuilt (as clusters' Health, ADR 0006): only the transitions it reveals go to the log."""

    agent_id = models.CharField(max_length=32, primary_key=True, verbose_name=_("agent id"))
    # No index: every heartbeat updates this, and without an index on it PostgreSQL can update the row in place
    # (HOT); the liveness check reads every row of a few thousand anyway.
    last_heartbeat_at = models.DateTimeField(verbose_name=_("last heartbeat at"))
    # the agent's clock, as it sent it
    sent_at = models.CharField(max_length=40, blank=True, default="", verbose_name=_("sent at"))
    facts = models.JSONField(default=dict, verbose_name=_("facts"))
    heartbeats = models.BigIntegerField(default=0, verbose_name=_("heartbeats"))

    class Meta:
        verbose_name = _("agent liveness")
        default_permissions = ()
        verbose_name_plural = _("agent liveness")

    def __str__(self) -> str:
        return f"{self.agent_id} @ {self.last_heartbeat_at:%Y-%m-%d %H:%M:%S}"


class Action(TenantOwned):
    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    agent_id = models.CharField(max_length=32, verbose_name=_("agent id"))
    type = models.CharField(max_length=64, verbose_name=_("type"))
    params = models.JSONField(default=dict, verbose_name=_("params"))
    state = models.CharField(max_length=16, verbose_name=_("state"))
    key = models.CharField(max_length=200, verbose_name=_("key"))
    operation_id = models.CharField(
        max_length=64, blank=True, default="", db_index=True, verbose_name=_("operation id")
    )
    step_key = models.CharField(max_length=200, blank=True, default="", verbose_name=_("step key"))
    # actor kind:id
    requested_by = models.CharField(max_length=170, blank=True, default="", verbose_name=_("requested by"))
    nonce = models.CharField(max_length=32, verbose_name=_("nonce"))
    issued_at = models.DateTimeField(verbose_name=_("issued at"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))
    key_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("key id"))
    delivered_at = models.DateTimeField(null=True, verbose_name=_("delivered at"))
    started_at = models.DateTimeField(null=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, verbose_name=_("finished at"))
    cancel_requested = models.BooleanField(default=False, verbose_name=_("cancel requested"))
    progress_percent = models.IntegerField(null=True, verbose_name=_("progress percent"))
    progress_message = models.CharField(max_length=500, blank=True, default="", verbose_name=_("progress message"))
    exit_code = models.IntegerField(null=True, verbose_name=_("exit code"))
    result = models.JSONField(default=dict, verbose_name=_("result"))
    error_code = models.CharField(max_length=64, blank=True, default="", verbose_name=_("error code"))
    error_message = models.TextField(blank=True, default="", verbose_name=_("error message"))
    output_tail = models.TextField(blank=True, default="", verbose_name=_("output tail"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    version = models.PositiveIntegerField(verbose_name=_("version"))

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["-created_at"]
        default_permissions = ()
        indexes = [models.Index(fields=["agent_id", "state"], name="agents_action_agent_state")]

    def __str__(self) -> str:
        return f"{self.type} on {self.agent_id} ({self.state})"


class ActionOutput(models.Model):
    """Output chunks an agent sent with its progress, bulk inserted; a re-sent seq is ignored."""

    id = models.BigAutoField(primary_key=True, verbose_name=_("ID"))
    action_id = models.CharField(max_length=32, verbose_name=_("action id"))
    seq = models.IntegerField(verbose_name=_("seq"))
    chunk = models.TextField(verbose_name=_("chunk"))
    received_at = models.DateTimeField(verbose_name=_("received at"))

    class Meta:
        verbose_name = _("action output")
        verbose_name_plural = _("action outputs")
        ordering = ["action_id", "seq"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["action_id", "seq"], name="agents_output_unique_seq")]

    def __str__(self) -> str:
        return f"{self.action_id}#{self.seq}"


class ActionArtifact(models.Model):
    """A file an agent uploaded for an action, stored at DATA_DIR/artifacts/<sha256>."""

    id = models.BigAutoField(primary_key=True, verbose_name=_("ID"))
    action_id = models.CharField(max_length=32, db_index=True, verbose_name=_("action id"))
    sha256 = models.CharField(max_length=64, verbose_name=_("sha256"))
    size = models.BigIntegerField(verbose_name=_("size"))
    uploaded_at = models.DateTimeField(verbose_name=_("uploaded at"))

    class Meta:
        verbose_name = _("action artifact")
        verbose_name_plural = _("action artifacts")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["action_id", "sha256"], name="agents_artifact_unique")]

    def __str__(self) -> str:
        return f"{self.action_id}: {self.sha256[:12]}"


class SigningKey(models.Model):
    """The control plane's Ed25519 key for signing actions. The private key is sealed with the secrets store's
    envelope encryption under a master key (docs/adr: the signing key); the public key is plain."""

    key_id = models.CharField(max_length=64, primary_key=True, verbose_name=_("key id"))
    public_key = models.CharField(max_length=64, verbose_name=_("public key"))  # raw 32 bytes, base64
    scheme = models.PositiveSmallIntegerField(default=1, verbose_name=_("scheme"))
    kek_id = models.CharField(max_length=64, verbose_name=_("kek id"))
    wrapped_dek = models.BinaryField(verbose_name=_("wrapped dek"))
    dek_nonce = models.BinaryField(verbose_name=_("dek nonce"))
    nonce = models.BinaryField(verbose_name=_("nonce"))
    ciphertext = models.BinaryField(verbose_name=_("ciphertext"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        default_permissions = ()

    def __str__(self) -> str:
        return self.key_id
