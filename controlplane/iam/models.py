"""Memberships (who holds which role where), personal API tokens, logins (JWT families) and invitations.

Not event-sourced (ADR 0001): they sit beside Django's auth tables and django-auditlog records every
change to them. A membership is the whole grant of a tenant or workspace role (ADR 0019); a role on one cluster or
job is a django-guardian object permission instead (``actions.do_grant_object_role``), with no model here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from controlplane.iam.permissions import ROLE_ORDER
from controlplane.tenancy.models import Tenant, Workspace

ROLE_CHOICES = [(role, role.title()) for role in ROLE_ORDER]


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # "" for a grant on the whole tenant: unique constraints treat NULLs as distinct on some databases
    scope = models.CharField(max_length=64, default="", blank=True)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    granted_by = models.CharField(max_length=150)
    granted_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant", "scope"], name="iam_membership_scope")]
        ordering = ["tenant_id", "user_id", "scope"]

    def __str__(self) -> str:
        where = f"{self.tenant_id}/{self.scope}" if self.scope else self.tenant_id
        return f"{self.user_id} {self.role} on {where}"


TOKEN_KINDS = [("tenant", "Tenant"), ("platform", "Platform")]


class ApiToken(models.Model):
    """A personal API token: shown once, stored as a SHA-256 hash. A ``tenant`` token is bound to one tenant and
    reaches nothing outside it; a ``platform`` token (no tenant) carries a platform administrator's
    platform-wide powers and reaches no tenant."""

    id = models.CharField(max_length=32, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=16, choices=TOKEN_KINDS, default="tenant")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginSession(models.Model):
    """One password login through the API: the family of every refresh and access token descended from it.

    Only the newest refresh token of the family (``refresh_jti``) may be used; presenting an older one is
    reuse, and revokes the whole family. Access tokens carry the family id and die with it.
    """

    id = models.CharField(max_length=32, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions")
    refresh_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    client_address = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"login {self.id} of {self.user_id}"


class Invitation(models.Model):
    """An invitation to join a tenant with a role under a new user name: the token is shown once to the inviter,
    stored as a SHA-256 hash, expires, and is used once (the invitee sets a password)."""

    id = models.CharField(max_length=32, primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    username = models.CharField(max_length=150)
    email = models.EmailField(blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    invited_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.username} to {self.tenant_id}"
