"""The one place that decides who may do what. Views, admin, consumers and tasks ask here.

A permission point (``iam.permissions.POINTS``) is held through a role granted on the tenant or on one
workspace; the grants are django-guardian object permissions on the Tenant / Workspace rows. The platform
superuser holds everything. A disabled tenant refuses everyone but the platform superuser.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from guardian.core import ObjectPermissionChecker

from controlplane.errors import DomainError
from controlplane.iam.permissions import POINTS, TENANT_ONLY, codename
from controlplane.tenancy.models import Tenant, Workspace

User = AbstractBaseUser | AnonymousUser


class AccessDenied(DomainError):
    code = "PERMISSION_DENIED"


class TenantDisabled(DomainError):
    code = "TENANT_DISABLED"


def _checker(user: User) -> ObjectPermissionChecker:
    # One checker per user object (a request's user lives for one request): guardian caches in it.
    checker = getattr(user, "_controlplane_checker", None)
    if checker is None:
        checker = ObjectPermissionChecker(user)
        user._controlplane_checker = checker  # type: ignore[union-attr]
    return checker


def is_platform_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def visible(user: User, tenant: Tenant) -> bool:
    """May the user know this tenant exists? (Otherwise every URL under it answers 404.)"""
    if not user.is_authenticated or not user.is_active:
        return False
    if is_platform_admin(user):
        return True
    return tenant.memberships.filter(user_id=user.pk).exists()


def visible_tenants(user: User) -> QuerySet[Tenant]:
    if is_platform_admin(user):
        return Tenant.objects.all()
    if not user.is_authenticated or not user.is_active:
        return Tenant.objects.none()
    return Tenant.objects.filter(memberships__user_id=user.pk).distinct()


def has(user: User, point: str, tenant: Tenant, workspace: Workspace | None = None) -> bool:
    if point not in POINTS:
        raise KeyError(f"unknown permission point {point!r}")
    if not user.is_authenticated or not user.is_active:
        return False
    if is_platform_admin(user):
        return True
    if tenant.disabled:
        return False
    checker = _checker(user)
    name = codename(point)
    if checker.has_perm(name, tenant):
        return True
    return workspace is not None and point not in TENANT_ONLY and checker.has_perm(name, workspace)


def require(user: User, point: str, tenant: Tenant, workspace: Workspace | None = None) -> None:
    """Raise AccessDenied (or TenantDisabled) unless the user holds ``point`` here."""
    if tenant.disabled and not is_platform_admin(user):
        raise TenantDisabled("this tenant is disabled", tenant=tenant.slug)
    if not has(user, point, tenant, workspace):
        raise AccessDenied(f"you lack the permission {point}", permission=point)


def require_platform_admin(user: User, what: str) -> None:
    if not is_platform_admin(user):
        raise AccessDenied(f"only a platform administrator may {what}", permission="platform.admin")
