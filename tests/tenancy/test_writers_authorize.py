"""Every writer of tenancy authorizes its actor itself (ADR 0018): the point its API view requires in the tenant,
and the platform's for creating a tenant; fail closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.tenancy import actions
from controlplane.tenancy.models import Tenant
from tests.authorizing import as_user, refused, user_holding, user_lacking, without_credential

pytestmark = pytest.mark.django_db

Write = Callable[[Metadata, Tenant], object]
# writer -> (the point its API view requires, a call of it, the event it appends when allowed)
WRITERS: dict[str, tuple[str, Write, str]] = {
    "do_rename_tenant": (
        "tenant.update",
        lambda meta, t: actions.do_rename_tenant(metadata=meta, tenant_id=t.id, name="Acme Corp"),
        "tenancy.tenant_renamed",
    ),
    "do_create_workspace": (
        "workspace.create",
        lambda meta, t: actions.do_create_workspace(metadata=meta, tenant_id=t.id, name="Reports", slug="reports"),
        "tenancy.workspace_created",
    ),
    "do_disable_tenant": (
        "tenant.disable",
        lambda meta, t: actions.do_disable_tenant(metadata=meta, tenant_id=t.id, reason="unpaid"),
        "tenancy.tenant_disabled",
    ),
    "do_enable_tenant": (
        "tenant.disable",
        lambda meta, t: actions.do_enable_tenant(metadata=meta, tenant_id=t.id),
        "tenancy.tenant_enabled",
    ),
    "do_set_quotas": (
        "tenant.update",
        lambda meta, t: actions.do_set_quotas(metadata=meta, tenant_id=t.id, quotas={"clusters": 3}),
        "tenancy.quotas_set",
    ),
}
PLATFORM_WRITERS = {"do_create_tenant"}
SYSTEM = Metadata.for_system(None, reason="tests")


@pytest.fixture
def acme() -> Tenant:
    return Tenant.objects.get(id=actions.do_create_tenant(metadata=SYSTEM, name="Acme", slug="acme"))


@pytest.fixture
def beta() -> Tenant:
    return Tenant.objects.get(id=actions.do_create_tenant(metadata=SYSTEM, name="Beta", slug="beta"))


def test_every_writer_of_tenancy_is_covered() -> None:
    assert set(WRITERS) | PLATFORM_WRITERS == {name for name in vars(actions) if name.startswith("do_")}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_without_the_point_is_refused_and_nothing_is_appended(acme: Tenant, writer: str) -> None:
    point, write, _ = WRITERS[writer]
    user = user_lacking(point, acme)
    error = refused(lambda: write(as_user(user, acme.id), acme), "PERMISSION_DENIED")
    assert error.details["permission"] == point


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_actor_without_a_credential_is_refused(acme: Tenant, writer: str) -> None:
    point, write, _ = WRITERS[writer]
    meta = without_credential(as_user(user_holding(point, acme), acme.id))
    refused(lambda: write(meta, acme), "PERMISSION_DENIED")


@pytest.mark.parametrize("writer", WRITERS)
def test_metadata_bound_to_another_tenant_is_not_found(acme: Tenant, beta: Tenant, writer: str) -> None:
    point, write, _ = WRITERS[writer]
    user = user_holding(point, acme)  # allowed in acme, but acting in beta
    refused(lambda: write(as_user(user, beta.id), acme), "NOT_FOUND")
    refused(lambda: write(Metadata.for_system(beta.id, reason="tests"), acme), "NOT_FOUND")


# Enabling: a disabled tenant refuses everyone but a platform administrator (below).
@pytest.mark.parametrize("writer", sorted(set(WRITERS) - {"do_enable_tenant"}))
def test_a_user_holding_the_point_writes(acme: Tenant, writer: str) -> None:
    point, write, event_type = WRITERS[writer]
    user = user_holding(point, acme)
    before = Event.objects.order_by("-position").values_list("position", flat=True).first()
    write(as_user(user, acme.id), acme)
    (written,) = Event.objects.filter(position__gt=before)
    assert (written.event_type, written.actor_kind, written.actor_id, written.tenant_id) == (
        event_type,
        "user",
        user.get_username(),
        acme.id,
    )


def test_only_a_platform_administrator_enables_a_disabled_tenant(acme: Tenant) -> None:
    actions.do_disable_tenant(metadata=SYSTEM, tenant_id=acme.id)
    owner = user_holding("tenant.disable", acme)
    refused(lambda: actions.do_enable_tenant(metadata=as_user(owner, acme.id), tenant_id=acme.id), "TENANT_DISABLED")
    root = User.objects.create_superuser("root")
    actions.do_enable_tenant(metadata=as_user(root, acme.id), tenant_id=acme.id)
    latest = Event.objects.order_by("-position").first()
    assert (latest.event_type, latest.actor_id) == ("tenancy.tenant_enabled", "root")


def test_creating_a_tenant_is_the_platforms(acme: Tenant) -> None:
    owner = user_holding("member.manage", acme)
    create = actions.do_create_tenant
    error = refused(lambda: create(metadata=as_user(owner, None), name="Gamma", slug="gamma"), "PERMISSION_DENIED")
    assert error.details["permission"] == "platform.admin"
    root = User.objects.create_superuser("root")
    unproven = without_credential(as_user(root, None))
    refused(lambda: create(metadata=unproven, name="Gamma", slug="gamma"), "PERMISSION_DENIED")
    gamma = create(metadata=as_user(root, None), name="Gamma", slug="gamma")
    assert Event.objects.filter(tenant_id=gamma, actor_kind="user", actor_id="root").exists()
