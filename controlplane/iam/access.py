"""The one place that decides who may do what. Views, admin, consumers and tasks ask here.

A permission point (``iam.permissions.POINTS``) is held through a role granted on the tenant or on one
workspace; the grants are django-guardian object permissions on the Tenant / Workspace rows. The platform
superuser holds everything. A disabled tenant refuses everyone but the platform superuser.

The credential limits the user: a request made with a tenant-bound API token reaches only that tenant
(everything else is invisible, and no platform-wide power is held even by a platform administrator); a
platform token reaches platform endpoints only, never a tenant (``bind_token``).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from guardian.core import ObjectPermissionChecker

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam.models import ApiToken, Membership
from controlplane.iam.permissions import POINTS, TENANT_ONLY, codename
from controlplane.tenancy.models import Tenant, Workspace

User = AbstractBaseUser | AnonymousUser


class AccessDenied(DomainError):
    code = "PERMISSION_DENIED"


class TenantDisabled(DomainError):
    code = "TENANT_DISABLED"


class NotVisible(DomainError):
    """Answered exactly like an unknown id: the caller may not learn that the thing exists."""

    code = "NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("not found")


# Points a member holding a role on only one workspace may use at the tenant's level, so that they can see the
# tenant, list the workspaces they can see (the view filters) and manage their own API tokens.
MEMBER_POINTS = frozenset({"tenant.read", "workspace.read"})


def bind_token(user: User, token: ApiToken) -> None:
    """Limit what ``user`` (this request's object) reaches to what the API token it came with allows."""
    user._controlplane_token = token  # type: ignore[union-attr]


def bound_token(user: User) -> ApiToken | None:
    return getattr(user, "_controlplane_token", None)


def reaches(user: User, tenant: Tenant) -> bool:
    """May this credential act inside the tenant at all? A tenant token only in its own; a platform token never."""
    token = bound_token(user)
    return token is None or (token.kind == "tenant" and token.tenant_id == tenant.id)


def _superuser(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def _checker(user: User) -> ObjectPermissionChecker:
    # One checker per user object (a request's user lives for one request): guardian caches in it.
    checker = getattr(user, "_controlplane_checker", None)
    if checker is None:
        checker = ObjectPermissionChecker(user)
        user._controlplane_checker = checker  # type: ignore[union-attr]
    return checker


def is_platform_admin(user: User) -> bool:
    """Platform-wide powers: a platform administrator signed in, or with a platform token; never a tenant token."""
    token = bound_token(user)
    return _superuser(user) and (token is None or token.kind == "platform")


def visible(user: User, tenant: Tenant) -> bool:
    """May the user know this tenant exists? (Otherwise every URL under it answers 404.)"""
    if not user.is_authenticated or not user.is_active or not reaches(user, tenant):
        return False
    if _superuser(user):
        return True
    return tenant.memberships.filter(user_id=user.pk).exists()


def visible_tenants(user: User) -> QuerySet[Tenant]:
    token = bound_token(user)
    if not user.is_authenticated or not user.is_active:
        return Tenant.objects.none()
    if token is not None and token.kind == "tenant":
        tenants = Tenant.objects.filter(id=token.tenant_id)
        return tenants if _superuser(user) else tenants.filter(memberships__user_id=user.pk).distinct()
    if is_platform_admin(user):
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user_id=user.pk).distinct()


def workspace_visible(user: User, tenant: Tenant, workspace: Workspace) -> bool:
    """May the user know this workspace exists? Tenant-wide members yes; others only where they hold a role."""
    if not visible(user, tenant) or workspace.tenant_id != tenant.id:
        return False
    if _superuser(user):
        return True
    return Membership.objects.filter(user_id=user.pk, tenant=tenant, scope__in=["", workspace.id]).exists()


def visible_workspaces(user: User, tenant: Tenant) -> QuerySet[Workspace]:
    workspaces = Workspace.objects.filter(tenant=tenant).order_by("slug")
    if not visible(user, tenant):
        return workspaces.none()
    if _superuser(user) or has(user, "workspace.read", tenant):
        return workspaces
    granted = Membership.objects.filter(user_id=user.pk, tenant=tenant).values_list("workspace_id", flat=True)
    return workspaces.filter(id__in=granted)


def has(user: User, point: str, tenant: Tenant, workspace: Workspace | None = None) -> bool:
    if point not in POINTS:
        raise KeyError(f"unknown permission point {point!r}")
    if not user.is_authenticated or not user.is_active or not reaches(user, tenant):
        return False
    if _superuser(user):
        return True
    if tenant.disabled:
        return False
    checker = _checker(user)
    name = codename(point)
    if checker.has_perm(name, tenant):
        return True
    return workspace is not None and point not in TENANT_ONLY and checker.has_perm(name, workspace)


def require(user: User, point: str, tenant: Tenant, workspace: Workspace | None = None) -> None:
    """Raise AccessDenied (or TenantDisabled) unless the user holds ``point`` here; NotVisible for a workspace
    the user may not know of (the same answer as for a made-up one)."""
    if not visible(user, tenant):
        raise NotVisible()
    if tenant.disabled and not _superuser(user):
        raise TenantDisabled("this tenant is disabled", tenant=tenant.slug)
    if workspace is not None and not workspace_visible(user, tenant, workspace):
        raise NotVisible()
    if has(user, point, tenant, workspace):
        return
    if workspace is None and point in MEMBER_POINTS and _holds_on_a_workspace(user, point, tenant):
        return
    raise AccessDenied(f"you lack the permission {point}", permission=point)


def _holds_on_a_workspace(user: User, point: str, tenant: Tenant) -> bool:
    checker = _checker(user)
    return any(checker.has_perm(codename(point), ws) for ws in visible_workspaces(user, tenant))


def require_platform_admin(user: User, what: str) -> None:
    if not is_platform_admin(user):
        raise AccessDenied(f"only a platform administrator may {what}", permission="platform.admin")


# --- Writers: every do_* authorizes its own actor (ADR 0018) -------------------------------------------------------
# A system actor is the control plane itself (a task, an operation step, a command) and names its reason; a user or
# token actor needs its live credential in ``metadata.principal`` (``api.base.metadata_for`` puts it there), so a
# writer called with a user's name but no credential refuses (fail closed).


def _credential(metadata: Metadata, point: str) -> User:
    actor = metadata.actor
    if actor.kind == "system":
        raise AssertionError("system actors are let through before this")
    if actor.kind == "agent":
        raise AccessDenied("an agent writes only reports about itself", permission=point)
    user = metadata.principal
    if not isinstance(user, AbstractBaseUser) or not user.is_authenticated:
        raise AccessDenied("this write carries no credential", permission=point)
    return user


def authorize(metadata: Metadata, point: str, *, tenant_id: str, workspace_id: str | None = None) -> None:
    """The first step of a writer acting inside a tenant (and workspace): fail closed unless the actor holds
    ``point`` there. Metadata bound to another tenant is refused as if the tenant did not exist."""
    if point not in POINTS:
        raise KeyError(f"unknown permission point {point!r}")
    if metadata.tenant_id not in (None, tenant_id):
        raise NotVisible()
    if metadata.actor.kind == "system":
        return
    user = _credential(metadata, point)
    tenant = Tenant.objects.filter(id=tenant_id).first()
    if tenant is None:
        raise NotVisible()
    workspace = None
    if workspace_id:
        workspace = Workspace.objects.filter(id=workspace_id, tenant_id=tenant_id).first()
        if workspace is None:
            raise NotVisible()
    require(user, point, tenant, workspace)


def authorize_platform(metadata: Metadata, what: str) -> None:
    """A writer with platform-wide effect (tenants, users, platform tokens): a platform administrator, or the
    control plane itself."""
    if metadata.actor.kind == "system":
        return
    require_platform_admin(_credential(metadata, "platform.admin"), what)


def authorize_agent(metadata: Metadata, *, agent_id: str) -> None:
    """A writer an agent calls about itself (heartbeats, action results): that agent only, or the control plane."""
    actor = metadata.actor
    if actor.kind == "system" or (actor.kind == "agent" and actor.id == agent_id):
        return
    raise AccessDenied("only the agent itself reports this", permission="agent.report")
