"""Seed a demo: superuser ``admin``, tenant "Demo" (``demo``) and its workspace "Default" (``default``).

Idempotent: every run prints the same admin password, read from ``<data dir>/demo-admin-password`` (0600),
and creates only what is missing. Tenant and workspace go through the tenancy write path (events); the
Django user is not event-sourced.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from controlplane.audit.recorder import record_command
from controlplane.eventlog.metadata import Metadata
from controlplane.tenancy.actions import do_create_tenant, do_create_workspace
from controlplane.tenancy.models import Tenant, Workspace

ADMIN_USERNAME = "admin"
PASSWORD_FILE = "demo-admin-password"  # noqa: S105  (a file name, not a password)
TENANT_NAME, TENANT_SLUG = "Demo", "demo"
WORKSPACE_NAME, WORKSPACE_SLUG = "Default", "default"


def password_path() -> Path:
    return Path(settings.DATA_DIR) / PASSWORD_FILE


def read_or_create_password(path: Path) -> tuple[str, bool]:
    """The stored demo password, or a new one written 0600 (O_EXCL, so concurrent seeds agree)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        password = path.read_text().strip()
        if password:
            return password, False
        path.unlink()  # an empty file (a crash between create and write): start over
        return read_or_create_password(path)
    password = secrets.token_urlsafe(18)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password, True


class Command(BaseCommand):
    help = "Create the demo admin user, tenant and workspace if missing; print the admin password."

    def handle(self, *args: object, **options: object) -> None:
        path = password_path()
        password, new_password = read_or_create_password(path)
        user_note = self._ensure_admin(password, new_password)
        tenant_id, tenant_note = self._ensure_tenant()
        workspace_note = self._ensure_workspace(tenant_id)
        record_command(
            "seed_demo",
            resource_type="demo",
            result="ok",
            details={"user": user_note, "tenant": tenant_note, "workspace": workspace_note},
        )
        self.stdout.write(f"demo: user {ADMIN_USERNAME!r} {user_note}")
        self.stdout.write(f"demo: tenant {TENANT_SLUG!r} {tenant_note}, workspace {WORKSPACE_SLUG!r} {workspace_note}")
        self.stdout.write(f"admin password: {password}  (user {ADMIN_USERNAME}, stored in {path})")

    def _ensure_admin(self, password: str, new_password: bool) -> str:
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=ADMIN_USERNAME).first()
            if user is None:
                User.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
                return "created"
            if new_password:
                # The password file was removed: the file is the source of the demo password, so reset it.
                user.set_password(password)
                user.save(update_fields=["password"])
                return "exists, password reset to the new stored one"
        if not user.check_password(password):
            self.stderr.write(
                f"demo: the password of {ADMIN_USERNAME!r} was changed since seeding; the stored one no "
                f"longer works (delete {password_path()} to reset it on the next run)"
            )
            return "exists, password changed by hand"
        return "exists"

    def _ensure_tenant(self) -> tuple[str, str]:
        tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
        if tenant is not None:
            return tenant.id, "exists"
        tenant_id = do_create_tenant(
            metadata=Metadata.for_system(None, reason="seed_demo"), name=TENANT_NAME, slug=TENANT_SLUG
        )
        return tenant_id, "created"

    def _ensure_workspace(self, tenant_id: str) -> str:
        if Workspace.objects.filter(tenant_id=tenant_id, slug=WORKSPACE_SLUG).exists():
            return "exists"
        do_create_workspace(
            metadata=Metadata.for_system(None, reason="seed_demo"),
            tenant_id=tenant_id,
            name=WORKSPACE_NAME,
            slug=WORKSPACE_SLUG,
        )
        return "created"
