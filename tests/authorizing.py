"""Helpers for the tests that every writer authorizes its actor (ADR 0018): real users holding or lacking a
permission point, granted as the API tests grant roles, and the metadata a request of theirs carries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from django.contrib.auth.models import User

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.iam.permissions import ROLE_ORDER, ROLES
from controlplane.tenancy.models import Tenant


def user_holding(point: str, tenant: Tenant) -> User:
    """A member of ``tenant`` with the weakest built-in role that holds ``point``."""
    role = next(r for r in ROLE_ORDER if point in ROLES[r])
    user = User.objects.create_user(f"{role}-holding-{point}")
    iam.do_grant_role(user=user, tenant=tenant, role=role, metadata=Metadata.for_system(None, reason="tests"))
    return user


def user_lacking(point: str, tenant: Tenant) -> User:
    """A member of ``tenant`` with the strongest built-in role without ``point``. Every role holds the read points:
    a test of a reading writer gives its user a role on another object instead (``object_viewer``)."""
    lacking = [r for r in ROLE_ORDER if point not in ROLES[r]]
    if not lacking:
        raise ValueError(f"every role holds {point}: grant a role on another object (object_viewer)")
    user = User.objects.create_user(f"{lacking[-1]}-lacking-{point}")
    iam.do_grant_role(user=user, tenant=tenant, role=lacking[-1], metadata=Metadata.for_system(None, reason="tests"))
    return user


def object_viewer(tenant: Tenant, kind: str, object_id: str) -> User:
    """A user whose only grant is the viewer role on one cluster or job: they see the tenant and its workspace,
    and hold the read point on that object alone (ADR 0019)."""
    user = User.objects.create_user(f"viewer-of-{kind}-{object_id[:8]}")
    iam.do_grant_object_role(
        metadata=Metadata.for_system(None, reason="tests"),
        user=user,
        tenant=tenant,
        kind=kind,
        object_id=object_id,
        role="viewer",
    )
    return user


def as_user(user: User, tenant_id: str | None, workspace_id: str | None = None) -> Metadata:
    """What a request of ``user`` in that tenant and workspace hands a writer (``api.base.metadata_for``)."""
    return Metadata(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        actor=Actor(kind="user", id=user.get_username()),
        request_id="req-authz",
        correlation_id="req-authz",
        principal=user,
    )


def without_credential(metadata: Metadata) -> Metadata:
    """The same user's name with no live credential behind it."""
    return replace(metadata, principal=None)


def refused(call: Callable[[], object], code: str) -> DomainError:
    """Run ``call``, expecting a refusal with ``code`` that appends nothing to the log."""
    before = Event.objects.count()
    with pytest.raises(DomainError) as info:
        call()
    assert info.value.code == code, info.value
    assert Event.objects.count() == before
    return info.value
