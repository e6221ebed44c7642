"""Memberships (who holds which role where), personal API tokens, logins (JWT families) and invitations.

Not event-sourced (ADR 0001): they sit beside Django's auth tables and django-auditlog records every
change to them. A membership is the whole grant of a tenant or workspace role (ADR 0019); a role on one cluster or
job is a django-guardian object permission instead (``actions.do_grant_object_role``), with no model here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.iam.permissions import ROLE_ORDER
from controlplane.tenancy.models import Tenant, Workspace

ROLE_CHOICES = [(role, role.title()) for role in ROLE_ORDER]


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("tenant"))
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("workspace")
    )
    # "" for a grant on the whole tenant: unique constraints treat NULLs as distinct on some databases
    scope = models.CharField(max_length=64, default="", blank=True, verbose_name=_("scope"))
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, verbose_name=_("role"))
    granted_by = models.CharField(max_length=150, verbose_name=_("granted by"))
    granted_at = models.DateTimeField(auto_now_add=True, verbose_name=_("granted at"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
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

    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    kind = models.CharField(max_length=16, choices=TOKEN_KINDS, default="tenant", verbose_name=_("kind"))
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens", verbose_name=_("tenant")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    prefix = models.CharField(max_length=16, unique=True, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64, verbose_name=_("key hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))

    class Meta:
        verbose_name = _("api token")
        verbose_name_plural = _("api tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginSession(models.Model):
    """One password login through the API: the family of every refresh and access token descended from it.

    Only the newest refresh token of the family (``refresh_jti``) may be used; presenting an older one is
    reuse, and revokes the whole family. Access tokens carry the family id and die with it.
    """

    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions", verbose_name=_("user")
    )
    refresh_jti = models.CharField(max_length=64, verbose_name=_("refresh jti"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    last_used_at = models.DateTimeField(verbose_name=_("last used at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    client_address = models.CharField(max_length=64, blank=True, default="", verbose_name=_("client address"))
    user_agent = models.CharField(max_length=300, blank=True, default="", verbose_name=_("user agent"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_reason = models.CharField(max_length=32, blank=True, default="", verbose_name=_("revoked reason"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"login {self.id} of {self.user_id}"


class Invitation(models.Model):
    """An invitation to join a tenant with a role under a new user name: the token is shown once to the inviter,
    stored as a SHA-256 hash, expires, and is used once (the invitee sets a password)."""

    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("tenant"))
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("workspace")
    )
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, verbose_name=_("role"))
    username = models.CharField(max_length=150, verbose_name=_("username"))
    email = models.EmailField(blank=True, default="", verbose_name=_("email"))
    prefix = models.CharField(max_length=16, unique=True, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64, verbose_name=_("key hash"))
    invited_by = models.CharField(max_length=150, verbose_name=_("invited by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.username} to {self.tenant_id}"
