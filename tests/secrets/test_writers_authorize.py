"""Every writer of secrets authorizes its actor itself (ADR 0018): the point its API view requires in the secret's
tenant and workspace, and the platform's for key rotation; fail closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.secrets import actions, keys
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.secrets.models import SecretVersion
from controlplane.tenancy.models import Tenant
from tests.authorizing import as_user, refused, user_holding, user_lacking, without_credential
from tests.secrets.conftest import K1, K2, Place

pytestmark = pytest.mark.django_db

Write = Callable[[Metadata, Place, str], object]
# writer -> (the point its API view requires, a call of it on the place's secret, what it appends when allowed,
# the answer when the metadata is bound to another tenant: by id, a secret elsewhere is as unknown as a made-up one)
WRITERS: dict[str, tuple[str, Write, tuple[str, ...], str]] = {
    "do_create_secret": (
        "secret.create",
        lambda meta, p, _: actions.do_create_secret(
            metadata=meta, tenant_id=p.tenant_id, workspace_id=p.workspace_id, name="another", value="v"
        ),
        ("secrets.secret_created", "secrets.secret_version_added"),
        "NOT_FOUND",
    ),
    "do_update_secret": (
        "secret.update",
        lambda meta, _, secret_id: actions.do_update_secret(metadata=meta, secret_id=secret_id, value="v2"),
        ("secrets.secret_version_added",),
        "SECRET_NOT_FOUND",
    ),
    "do_delete_secret": (
        "secret.delete",
        lambda meta, _, secret_id: actions.do_delete_secret(metadata=meta, secret_id=secret_id),
        ("secrets.secret_deleted",),
        "SECRET_NOT_FOUND",
    ),
    "do_reveal_secret": (
        "secret.reveal",
        lambda meta, _, secret_id: actions.do_reveal_secret(metadata=meta, secret_id=secret_id),
        ("secrets.secret_revealed",),
        "SECRET_NOT_FOUND",
    ),
}
PLATFORM_WRITERS = {"do_rotate_keys"}


@pytest.fixture
def secret_id(acme: Place) -> str:
    return actions.do_create_secret(
        metadata=acme.meta, tenant_id=acme.tenant_id, workspace_id=acme.workspace_id, name="db-password", value="v1"
    )


def tenant_of(place: Place) -> Tenant:
    return Tenant.objects.get(id=place.tenant_id)


def test_every_writer_of_secrets_is_covered() -> None:
    assert set(WRITERS) | PLATFORM_WRITERS == {name for name in vars(actions) if name.startswith("do_")}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_without_the_point_is_refused_and_nothing_is_appended(acme: Place, secret_id: str, writer: str):
    point, write, _, _ = WRITERS[writer]
    meta = as_user(user_lacking(point, tenant_of(acme)), acme.tenant_id, acme.workspace_id)
    error = refused(lambda: write(meta, acme, secret_id), "PERMISSION_DENIED")
    assert error.details["permission"] == point
    assert SecretVersion.objects.filter(secret_id=secret_id).count() == 1


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_actor_without_a_credential_is_refused(acme: Place, secret_id: str, writer: str):
    point, write, _, _ = WRITERS[writer]
    meta = as_user(user_holding(point, tenant_of(acme)), acme.tenant_id, acme.workspace_id)
    refused(lambda: write(without_credential(meta), acme, secret_id), "PERMISSION_DENIED")


@pytest.mark.parametrize("writer", WRITERS)
def test_metadata_bound_to_another_tenant_is_not_found(acme: Place, globex: Place, secret_id: str, writer: str):
    point, write, _, not_found = WRITERS[writer]
    user = user_holding(point, tenant_of(acme))  # allowed in the secret's tenant, but acting in another one
    refused(lambda: write(as_user(user, globex.tenant_id, globex.workspace_id), acme, secret_id), not_found)
    refused(lambda: write(globex.meta, acme, secret_id), not_found)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_holding_the_point_writes(acme: Place, secret_id: str, writer: str):
    point, write, event_types, _ = WRITERS[writer]
    user = user_holding(point, tenant_of(acme))
    before = Event.objects.order_by("-position").values_list("position", flat=True).first()
    write(as_user(user, acme.tenant_id, acme.workspace_id), acme, secret_id)
    written = list(Event.objects.filter(position__gt=before).order_by("position"))
    assert [e.event_type for e in written] == list(event_types)
    assert {(e.actor_kind, e.actor_id, e.tenant_id, e.workspace_id) for e in written} == {
        ("user", user.get_username(), acme.tenant_id, acme.workspace_id)
    }


# -- key rotation: every tenant's secrets, so the platform's ----------------------------------------------------
K2_ACTIVE = LocalKeyProvider([("k2", K2), ("k1", K1)])


def test_rotating_keys_is_refused_to_a_tenants_owner(acme: Place, secret_id: str):
    owner = user_holding("member.manage", tenant_of(acme))  # every point of the tenant, no platform power
    with keys.using_provider(K2_ACTIVE):
        error = refused(lambda: actions.do_rotate_keys(metadata=as_user(owner, None)), "PERMISSION_DENIED")
    assert error.details["permission"] == "platform.admin"
    assert set(SecretVersion.objects.values_list("kek_id", flat=True)) == {"k1"}


def test_rotating_keys_without_a_credential_is_refused(acme: Place, secret_id: str):
    root = User.objects.create_superuser("root")
    with keys.using_provider(K2_ACTIVE):
        refused(lambda: actions.do_rotate_keys(metadata=without_credential(as_user(root, None))), "PERMISSION_DENIED")
    assert set(SecretVersion.objects.values_list("kek_id", flat=True)) == {"k1"}


def test_a_platform_administrator_rotates_keys(acme: Place, globex: Place, secret_id: str):
    root = User.objects.create_superuser("root")
    before = Event.objects.order_by("-position").values_list("position", flat=True).first()
    with keys.using_provider(K2_ACTIVE):
        assert actions.do_rotate_keys(metadata=as_user(root, None)) == 1
    (rewrapped,) = Event.objects.filter(position__gt=before)
    assert (rewrapped.event_type, rewrapped.actor_kind, rewrapped.actor_id, rewrapped.tenant_id) == (
        "secrets.secret_rewrapped",
        "user",
        "root",
        acme.tenant_id,
    )
    assert set(SecretVersion.objects.values_list("kek_id", flat=True)) == {"k2"}
