"""Reads of secrets. Listing and lookups give metadata only; ``resolve_secret_refs`` decrypts.

Tenant and workspace are explicit arguments (``Secret.unscoped`` filtered by them): visibility and
permissions are the caller's, through ``controlplane.iam.access``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from controlplane.secrets import vault
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.envelope import Binding
from controlplane.secrets.models import Secret


def secret_list(*, tenant_id: str, workspace_id: str) -> QuerySet[Secret]:
    return Secret.unscoped.filter(tenant_id=tenant_id, workspace_id=workspace_id, deleted=False).order_by("name")


def secret_get(*, tenant_id: str, secret_id: str) -> Secret:
    secret = Secret.unscoped.filter(tenant_id=tenant_id, id=secret_id, deleted=False).first()
    if secret is None:
        raise SecretNotFound("no such secret", secret_id=secret_id)
    return secret


def secret_exists(tenant_id: str, workspace_id: str, name: str) -> bool:
    return Secret.unscoped.filter(tenant_id=tenant_id, workspace_id=workspace_id, slot=name, deleted=False).exists()


def resolve_secret_refs(tenant_id: str, workspace_id: str, names: Iterable[str]) -> dict[str, str]:
    """The current plaintext of each named secret of the workspace, for submitting a job run.

    Raises SECRET_NOT_FOUND naming every missing name (names are not secret). Not audited as a reveal:
    the caller's own event (the run's submission) records which names it referenced. Never log the result.
    """
    wanted = sorted(set(names))
    found = {
        secret.name: secret
        for secret in Secret.unscoped.filter(
            tenant_id=tenant_id, workspace_id=workspace_id, deleted=False, slot__in=wanted
        )
    }
    missing = [name for name in wanted if name not in found]
    if missing:
        raise SecretNotFound(f"no secret named {', '.join(missing)} in this workspace", names=missing)
    return {
        name: vault.open_value(
            Binding(tenant_id=tenant_id, secret_id=secret.id, version=secret.current_version)
        ).decode("utf-8")
        for name, secret in found.items()
    }
