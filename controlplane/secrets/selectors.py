"""Reads of secrets. Listing and lookups give metadata only; ``resolve_secret_refs`` decrypts.

Tenant and workspace are explicit arguments, bound for the read so the tenant-scoped manager sees that
workspace only: visibility and permissions are the caller's, through ``controlplane.iam.access``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from controlplane.secrets import vault
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.envelope import Binding
from controlplane.secrets.models import Secret
from controlplane.tenancy.context import bound


def secret_list(*, tenant_id: str, workspace_id: str) -> QuerySet[Secret]:
    with bound(tenant_id, workspace_id):  # the scope is part of the query from here on
        return Secret.objects.filter(deleted=False).order_by("name")


def secret_get(*, tenant_id: str, secret_id: str) -> Secret:
    with bound(tenant_id):
        secret = Secret.objects.filter(id=secret_id, deleted=False).first()
    if secret is None:
        raise SecretNotFound("no such secret", secret_id=secret_id)
    return secret


def secret_exists(tenant_id: str, workspace_id: str, name: str) -> bool:
    with bound(tenant_id, workspace_id):
        return Secret.objects.filter(slot=name, deleted=False).exists()


def resolve_secret_refs(tenant_id: str, workspace_id: str, names: Iterable[str]) -> dict[str, str]:
    """The current plaintext of each named secret of the workspace, for submitting a job run.

    Raises SECRET_NOT_FOUND naming every missing name (names are not secret). Not audited as a reveal:
    the caller's own event (the run's submission) records which names it referenced. Never log the result.
    """
    wanted = sorted(set(names))
    with bound(tenant_id, workspace_id):
        found = {secret.name: secret for secret in Secret.objects.filter(deleted=False, slot__in=wanted)}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise SecretNotFound(f"no secret named {', '.join(missing)} in this workspace", names=missing)
    return {
        name: vault.open_value(
            Binding(tenant_id=tenant_id, secret_id=secret.id, version=secret.current_version)
        ).decode("utf-8")
        for name, secret in found.items()
    }
