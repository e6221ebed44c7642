"""Writers of iam: role grants (memberships + guardian object permissions) and API tokens.

Callers authorize first (``access.require(actor, "member.manage", tenant)``) and audit the attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from controlplane.errors import DomainError
from controlplane.iam.models import ApiToken, Membership
from controlplane.iam.permissions import ROLES, TENANT_ONLY, codename
from controlplane.iam.tokens import generate
from controlplane.tenancy.models import Tenant, Workspace


class IamError(DomainError):
    code = "IAM_ERROR"


def _grant_target(tenant: Tenant, workspace: Workspace | None) -> Tenant | Workspace:
    if workspace is not None and workspace.tenant_id != tenant.id:
        raise IamError("the workspace is not in this tenant", code="WORKSPACE_NOT_FOUND")
    return workspace if workspace is not None else tenant


def _points(role: str, workspace: Workspace | None) -> frozenset[str]:
    points = ROLES[role]
    return points - TENANT_ONLY if workspace is not None else points


def do_grant_role(
    *, user: AbstractBaseUser, tenant: Tenant, role: str, granted_by: str, workspace: Workspace | None = None
) -> Membership:
    """Give ``user`` the role on the tenant (or one workspace); replaces a role held at the same place."""
    if role not in ROLES:
        raise IamError(f"unknown role {role!r}; roles are {', '.join(ROLES)}", code="ROLE_INVALID", field="role")
    target = _grant_target(tenant, workspace)
    scope = workspace.id if workspace is not None else ""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(user=user, tenant=tenant, scope=scope).first()
        if membership is not None:
            for point in _points(membership.role, workspace):
                remove_perm(codename(point), user, target)
            membership.role = role
            membership.granted_by = granted_by
            membership.version += 1
            membership.save()
        else:
            membership = Membership.objects.create(
                user=user, tenant=tenant, workspace=workspace, scope=scope, role=role, granted_by=granted_by
            )
        for point in _points(role, workspace):
            assign_perm(codename(point), user, target)
    return membership


def do_revoke_role(*, membership: Membership) -> None:
    workspace = membership.workspace
    target = _grant_target(membership.tenant, workspace)
    with transaction.atomic():
        for point in _points(membership.role, workspace):
            remove_perm(codename(point), membership.user, target)
        membership.delete()


def do_create_api_token(
    *, user: AbstractBaseUser, tenant: Tenant, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal token; the plaintext is returned here once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise IamError("token name must be 1..100 characters", code="TOKEN_NAME_INVALID", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise IamError("expiry must be in the future", code="TOKEN_EXPIRY_INVALID", field="expires_at")
    plaintext, prefix, key_hash = generate()
    token = ApiToken.objects.create(
        id=uuid.uuid4().hex,
        user=user,
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        expires_at=expires_at,
    )
    return token, plaintext


def do_revoke_api_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.version += 1
        token.save(update_fields=["revoked_at", "version"])
