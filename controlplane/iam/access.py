"""The one place that decides who may do what. Views, admin, consumers, tasks and writers ask here.

A permission point (``iam.permissions.POINTS``) is held through a role granted on the tenant or on one workspace:
a ``Membership`` row, the one truth for such grants, whose role names its points (``permissions.ROLES``; ADR 0019).
A role on one object (a cluster, a job) is a django-guardian object permission on that object's row
(``permissions.OBJECT_ROLES``): it holds its points on that object only, lets its holder see the tenant and
workspace, and lists show them only the objects granted. The platform superuser holds everything. A disabled
tenant refuses everyone but the platform superuser.

The credential limits the user: a request made with a tenant-bound API token reaches only that tenant
(everything else is invisible, and no platform-wide power is held even by a platform administrator); a
platform token reaches platform endpoints only, never a tenant (``bind_token``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam.models import ApiToken, Membership
from controlplane.iam.permissions import GOVERNED, OBJECT_ROLES, POINTS, ROLES, TENANT_ONLY
from controlplane.iam.selectors import object_grants_for_system
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


# Points a member holding a role on only one workspace (or on one object) may use at the tenant's level, so that
# they can see the tenant, list the workspaces they can see (the view filters) and manage their own API tokens.
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


@dataclass(frozen=True)
class ObjectGrant:
    kind: str
    object_id: str
    role: str
    tenant_id: str
    workspace_id: str


@dataclass
class _Grants:
    """What one user object holds, read once (a request's user lives for one request; writers ``forget``)."""

    roles: dict[str, dict[str, str]]  # tenant id -> scope ("" = the whole tenant, or a workspace id) -> role
    _objects: list[ObjectGrant] | None = field(default=None)
    user_id: Any = None

    @property
    def objects(self) -> list[ObjectGrant]:
        if self._objects is None:  # read only when a role does not answer: most requests never need it
            self._objects = [ObjectGrant(*row) for row in object_grants_for_system(self.user_id)]
        return self._objects

    def objects_in(self, tenant_id: str, workspace_id: str | None = None) -> list[ObjectGrant]:
        return [g for g in self.objects if g.tenant_id == tenant_id and workspace_id in (None, g.workspace_id)]


def _grants(user: User) -> _Grants:
    grants = getattr(user, "_controlplane_grants", None)
    if grants is None:
        roles: dict[str, dict[str, str]] = {}
        for tenant_id, scope, role in Membership.objects.filter(user_id=user.pk).values_list(
            "tenant_id", "scope", "role"
        ):
            roles.setdefault(tenant_id, {})[scope] = role
        grants = _Grants(roles=roles, user_id=user.pk)
        user._controlplane_grants = grants  # type: ignore[union-attr]
    return grants


def forget(user: User) -> None:
    """Drop what this user object holds from its cache (a writer changed its grants)."""
    if hasattr(user, "_controlplane_grants"):
        del user._controlplane_grants  # type: ignore[union-attr]


def is_platform_admin(user: User) -> bool:
    """Platform-wide powers: a platform administrator signed in, or with a platform token; never a tenant token."""
    token = bound_token(user)
    return _superuser(user) and (token is None or token.kind == "platform")


def _known(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def visible(user: User, tenant: Tenant) -> bool:
    """May the user know this tenant exists? (Otherwise every URL under it answers 404.)"""
    if not _known(user) or not reaches(user, tenant):
        return False
    if _superuser(user):
        return True
    grants = _grants(user)
    return tenant.id in grants.roles or bool(grants.objects_in(tenant.id))


def visible_tenants(user: User) -> QuerySet[Tenant]:
    token = bound_token(user)
    if not _known(user):
        return Tenant.objects.none()
    if token is not None and token.kind == "tenant":
        tenants = Tenant.objects.filter(id=token.tenant_id)
        if _superuser(user):
            return tenants
    elif is_platform_admin(user):
        return Tenant.objects.all()
    else:
        tenants = Tenant.objects.all()
    grants = _grants(user)
    return tenants.filter(id__in=set(grants.roles) | {g.tenant_id for g in grants.objects})


def workspace_visible(user: User, tenant: Tenant, workspace: Workspace) -> bool:
    """May the user know this workspace exists? Tenant-wide members yes; others only where they hold a role (on
    the workspace, or on an object in it)."""
    if not visible(user, tenant) or workspace.tenant_id != tenant.id:
        return False
    if _superuser(user):
        return True
    grants = _grants(user)
    held = grants.roles.get(tenant.id, {})
    return "" in held or workspace.id in held or bool(grants.objects_in(tenant.id, workspace.id))


def visible_workspaces(user: User, tenant: Tenant) -> QuerySet[Workspace]:
    workspaces = Workspace.objects.filter(tenant=tenant).order_by("slug")
    if not visible(user, tenant):
        return workspaces.none()
    if _superuser(user) or has(user, "workspace.read", tenant):
        return workspaces
    grants = _grants(user)
    granted = set(grants.roles.get(tenant.id, {})) | {g.workspace_id for g in grants.objects_in(tenant.id)}
    return workspaces.filter(id__in=granted)


def _governed(obj: Model) -> tuple[str, str]:
    """(kind, id) of the grantable object ``obj`` is or belongs to (a run belongs to its job)."""
    label = obj._meta.label_lower
    if label not in GOVERNED:
        raise TypeError(f"no role is granted on a {label} or what it belongs to")
    kind, attribute = GOVERNED[label]
    return kind, str(getattr(obj, attribute))


def _held_on_object(user: User, point: str, tenant: Tenant, obj: Model) -> bool:
    kind, object_id = _governed(obj)
    return any(
        g.kind == kind and g.object_id == object_id and point in OBJECT_ROLES[kind][g.role]
        for g in _grants(user).objects_in(tenant.id)
    )


def has(user: User, point: str, tenant: Tenant, workspace: Workspace | None = None, obj: Model | None = None) -> bool:
    """Does the user hold ``point`` on the tenant (or the workspace, or the one object ``obj`` there)?"""
    if point not in POINTS:
        raise KeyError(f"unknown permission point {point!r}")
    if not _known(user) or not reaches(user, tenant):
        return False
    if _superuser(user):
        return True
    if tenant.disabled:
        return False
    held = _grants(user).roles.get(tenant.id, {})
    if "" in held and point in ROLES[held[""]]:
        return True
    workspace_id = workspace.id if workspace is not None else getattr(obj, "workspace_id", None)
    if workspace_id in held and point not in TENANT_ONLY and point in ROLES[held[workspace_id]]:
        return True
    if obj is not None and getattr(obj, "tenant_id", None) == tenant.id:
        return _held_on_object(user, point, tenant, obj)
    return False


def require(
    user: User, point: str, tenant: Tenant, workspace: Workspace | None = None, obj: Model | None = None
) -> None:
    """Raise AccessDenied (or TenantDisabled) unless the user holds ``point`` here (or on ``obj``, a cluster, a
    job or a job's run, when given); NotVisible for a workspace the user may not know of (the same answer as for a
    made-up one)."""
    if not visible(user, tenant):
        raise NotVisible()
    if tenant.disabled and not _superuser(user):
        raise TenantDisabled("this tenant is disabled", tenant=tenant.slug)
    if workspace is not None and not workspace_visible(user, tenant, workspace):
        raise NotVisible()
    if has(user, point, tenant, workspace, obj):
        return
    if point in MEMBER_POINTS:
        # visible (checked above) means a role somewhere here: on a workspace or on an object in it
        return
    raise AccessDenied(f"you lack the permission {point}", permission=point)


def granted_ids(user: User, point: str, kind: str, tenant: Tenant, workspace: Workspace | None = None) -> set[str]:
    """Ids of the objects of ``kind`` in the tenant (and workspace) on which the user holds ``point`` by a role on
    that object alone."""
    if not _known(user) or not reaches(user, tenant) or tenant.disabled:
        return set()
    return {
        g.object_id
        for g in _grants(user).objects_in(tenant.id, workspace.id if workspace is not None else None)
        if g.kind == kind and point in OBJECT_ROLES[kind][g.role]
    }


def require_here_or_on_objects(user: User, point: str, tenant: Tenant, workspace: Workspace | None, kind: str) -> bool:
    """``require`` for a view over objects of ``kind``: it also lets in a caller who holds ``point`` only on some
    such objects here. True when that is so, and the view must ``restrict`` its rows (and check each object)."""
    try:
        require(user, point, tenant, workspace)
        return False
    except AccessDenied:
        if not granted_ids(user, point, kind, tenant, workspace):
            raise
        return True


def restrict(user: User, rows: QuerySet, tenant: Tenant, workspace: Workspace | None = None) -> QuerySet:
    """Only the rows governed by an object the user may read through a role on that object."""
    kind, attribute = GOVERNED[rows.model._meta.label_lower]
    return rows.filter(**{f"{attribute}__in": granted_ids(user, f"{kind}.read", kind, tenant, workspace)})


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


def authorize(
    metadata: Metadata,
    point: str,
    *,
    tenant_id: str,
    workspace_id: str | None = None,
    obj: Model | None = None,
) -> None:
    """The first step of a writer acting inside a tenant (and workspace): fail closed unless the actor holds
    ``point`` there, or on ``obj`` (the cluster, job or run the writer changes: a role on that one object counts).
    Metadata bound to another tenant is refused as if the tenant did not exist."""
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
    if obj is not None and getattr(obj, "tenant_id", None) != tenant_id:
        raise NotVisible()
    require(user, point, tenant, workspace, obj)


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


def authorize_self(metadata: Metadata, what: str) -> AbstractBaseUser | None:
    """A writer about the actor's own things (its logins): a signed-in user, never an API token; returns that user.
    The control plane itself is let through (None: it names whose things)."""
    if metadata.actor.kind == "system":
        return None
    user = _credential(metadata, "session.manage")
    if bound_token(user) is not None or metadata.actor.kind == "token":
        raise AccessDenied(f"only a login may {what}, not an API token", permission="session.manage")
    return user
