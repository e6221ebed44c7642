"""Readers of iam. Those named ``*_for_system`` cross tenants by design (ADR 0018); the others read the bound tenant."""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone
from guardian.models import UserObjectPermission

from controlplane.iam.models import ApiToken, Invitation, Membership
from controlplane.iam.permissions import OBJECT_CODENAMES, OBJECT_MODELS


def object_grants_for_system(user_id: object) -> list[tuple[str, str, str, str, str]]:
    """Every role ``user_id`` holds on one object, in any tenant: (kind, object id, role, tenant id, workspace id).
    A user's grants span tenants, and access needs each object's place to answer for one tenant. Grants on objects
    whose row is gone (a cluster removed from the read model) are left out."""
    held = UserObjectPermission.objects.filter(
        user_id=user_id, permission__codename__in=list(OBJECT_CODENAMES)
    ).values_list("permission__codename", "object_pk")
    ids: dict[str, dict[str, str]] = defaultdict(dict)  # kind -> object id -> role
    for codename, object_pk in held:
        kind, role = OBJECT_CODENAMES[codename]
        ids[kind][object_pk] = role
    found = []
    for kind, roles in ids.items():
        model = apps.get_model(OBJECT_MODELS[kind])
        for object_id, tenant_id, workspace_id in model.unscoped.filter(id__in=list(roles)).values_list(
            "id", "tenant_id", "workspace_id"
        ):
            found.append((kind, object_id, roles[object_id], tenant_id, workspace_id))
    return found


def object_place_for_system(kind: str, object_id: str) -> tuple[str, str] | None:
    """(tenant id, workspace id) of one grantable object, wherever it is; None for an unknown id."""
    model = apps.get_model(OBJECT_MODELS[kind])
    return model.unscoped.filter(id=object_id).values_list("tenant_id", "workspace_id").first()


def object_grant_list() -> QuerySet[UserObjectPermission]:
    """The roles held on one object of the bound tenant (nothing when none is bound: the scoped managers)."""
    held = UserObjectPermission.objects.filter(permission__codename__in=list(OBJECT_CODENAMES))
    in_tenant = Q(pk__in=[])
    for label in OBJECT_MODELS.values():
        model = apps.get_model(label)
        ids = [str(pk) for pk in model.objects.values_list("id", flat=True)]
        in_tenant |= Q(content_type=ContentType.objects.get_for_model(model), object_pk__in=ids)
    return held.filter(in_tenant).select_related("user", "permission")


def membership_list(tenant_id: str) -> QuerySet[Membership]:
    """Who holds which role on the tenant or one of its workspaces."""
    return Membership.objects.filter(tenant_id=tenant_id).select_related("user", "workspace")


def invitation_list(tenant_id: str) -> QuerySet[Invitation]:
    """The tenant's invitations, newest first, whatever their state (``invitation_state``)."""
    return Invitation.objects.filter(tenant_id=tenant_id).select_related("workspace")


def invitation_state(invitation: Invitation) -> str:
    """pending, accepted, revoked or expired."""
    if invitation.accepted_at:
        return "accepted"
    if invitation.revoked_at:
        return "revoked"
    return "expired" if invitation.expires_at <= timezone.now() else "pending"


def api_token_list(user_id: object, tenant_id: str) -> QuerySet[ApiToken]:
    """A user's own personal tokens for one tenant (a token is only ever its owner's to see), newest first."""
    return ApiToken.objects.filter(tenant_id=tenant_id, user_id=user_id)


def active_user_by_name(username: str) -> AbstractBaseUser | None:
    """The active user of that exact name, to grant a role to."""
    return get_user_model().objects.filter(username=username, is_active=True).first()
