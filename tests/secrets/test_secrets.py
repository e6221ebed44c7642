"""Secrets through the actions: round trip, versions, delete, tenancy, resolving by name, bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.models import Event
from controlplane.eventlog.store import read_stream
from controlplane.secrets import actions
from controlplane.secrets.actions import (
    do_create_secret,
    do_delete_secret,
    do_reveal_secret,
    do_update_secret,
)
from controlplane.secrets.domain.errors import SecretsError
from controlplane.secrets.models import KeyCheck, Secret, SecretVersion
from controlplane.secrets.selectors import resolve_secret_refs, secret_exists, secret_get, secret_list
from controlplane.tenancy.context import bound
from tests.eventlog.fingerprint import read_model_fingerprint

pytestmark = pytest.mark.django_db


def create(place, name="db-password", value="s3cr3t-value", **kw) -> str:
    return do_create_secret(
        metadata=place.meta, tenant_id=place.tenant_id, workspace_id=place.workspace_id, name=name, value=value, **kw
    )


def test_round_trip_writes_metadata_events_and_ciphertext(acme):
    secret_id = create(acme, description="warehouse login")
    secret = Secret.unscoped.get(id=secret_id)
    assert (secret.tenant_id, secret.workspace_id, secret.name, secret.description) == (
        acme.tenant_id,
        acme.workspace_id,
        "db-password",
        "warehouse login",
    )
    assert (secret.current_version, secret.deleted) == (1, False)
    row = SecretVersion.objects.get(secret_id=secret_id)
    assert (row.version, row.kek_id) == (1, "k1")
    assert b"s3cr3t" not in bytes(row.ciphertext)

    assert do_reveal_secret(metadata=acme.user_meta, secret_id=secret_id) == "s3cr3t-value"
    events = read_stream(f"secret-{secret_id}")
    assert [e.event_type for e in events] == [
        "secrets.secret_created",
        "secrets.secret_version_added",
        "secrets.secret_revealed",
    ]
    assert events[1].payload == {"secret_id": secret_id, "version": 1, "kek_id": "k1"}
    assert events[2].payload == {"secret_id": secret_id, "version": 1}
    revealed = events[2].metadata
    assert (revealed.actor.id, revealed.tenant_id, revealed.workspace_id, revealed.client_address) == (
        "alice@acme",
        acme.tenant_id,
        acme.workspace_id,
        "127.0.0.1",
    )
    assert secret.created_at == events[0].recorded_at


def test_unicode_and_long_values_round_trip(acme):
    value = "pässwörd 密码 🔑 " + "x" * 60_000
    secret_id = create(acme, value=value)
    assert do_reveal_secret(metadata=acme.meta, secret_id=secret_id) == value


def test_versions(acme):
    secret_id = create(acme, value="one")
    assert do_update_secret(metadata=acme.meta, secret_id=secret_id, value="two") == 2
    assert do_update_secret(metadata=acme.meta, secret_id=secret_id, value="three") == 3
    assert Secret.unscoped.get(id=secret_id).current_version == 3
    assert do_reveal_secret(metadata=acme.meta, secret_id=secret_id) == "three"
    assert [do_reveal_secret(metadata=acme.meta, secret_id=secret_id, version=v) for v in (1, 2, 3)] == [
        "one",
        "two",
        "three",
    ]
    rows = SecretVersion.objects.filter(secret_id=secret_id).order_by("version")
    assert [r.version for r in rows] == [1, 2, 3]
    assert len({bytes(r.wrapped_dek) for r in rows}) == 3  # a data key per version
    revealed = [e.payload["version"] for e in read_stream(f"secret-{secret_id}") if e.event_type.endswith("revealed")]
    assert revealed == [3, 1, 2, 3]


def test_delete_destroys_the_values_and_frees_the_name(acme):
    secret_id = create(acme)
    do_update_secret(metadata=acme.meta, secret_id=secret_id, value="second")
    do_delete_secret(metadata=acme.meta, secret_id=secret_id)
    deleted = read_stream(f"secret-{secret_id}")[-1]
    assert (deleted.event_type, deleted.payload) == ("secrets.secret_deleted", {"secret_id": secret_id})
    assert not SecretVersion.objects.filter(secret_id=secret_id).exists()
    assert Secret.unscoped.get(id=secret_id).deleted
    assert not secret_exists(acme.tenant_id, acme.workspace_id, "db-password")
    for call in (
        lambda: do_reveal_secret(metadata=acme.meta, secret_id=secret_id),
        lambda: do_update_secret(metadata=acme.meta, secret_id=secret_id, value="again"),
        lambda: do_delete_secret(metadata=acme.meta, secret_id=secret_id),
    ):
        with pytest.raises(SecretsError) as info:
            call()
        assert info.value.code == "SECRET_NOT_FOUND"
    again = create(acme, value="new life")
    assert again != secret_id
    assert resolve_secret_refs(acme.tenant_id, acme.workspace_id, ["db-password"]) == {"db-password": "new life"}


def test_other_tenants_see_nothing(acme, globex):
    secret_id = create(acme)
    other = create(globex, value="globex value")  # the same name in another tenant is fine
    for call in (
        lambda: do_reveal_secret(metadata=globex.meta, secret_id=secret_id),
        lambda: do_update_secret(metadata=globex.meta, secret_id=secret_id, value="x"),
        lambda: do_delete_secret(metadata=globex.meta, secret_id=secret_id),
        lambda: secret_get(tenant_id=globex.tenant_id, secret_id=secret_id),
    ):
        with pytest.raises(SecretsError) as info:
            call()
        assert info.value.code == "SECRET_NOT_FOUND"
    assert resolve_secret_refs(globex.tenant_id, globex.workspace_id, ["db-password"]) == {
        "db-password": "globex value"
    }
    assert [s.id for s in secret_list(tenant_id=globex.tenant_id, workspace_id=globex.workspace_id)] == [other]
    with bound(globex.tenant_id):  # the scoped manager fails closed across tenants too
        assert list(Secret.objects.values_list("id", flat=True)) == [other]
    assert list(Secret.objects.all()) == []  # no tenant bound: nothing


def test_resolve_secret_refs_and_secret_exists(acme):
    create(acme, name="user", value="etl")
    create(acme, name="password", value="p@ss")
    assert secret_exists(acme.tenant_id, acme.workspace_id, "user")
    assert not secret_exists(acme.tenant_id, acme.workspace_id, "nope")
    assert not secret_exists(acme.tenant_id, "another-workspace", "user")
    assert resolve_secret_refs(acme.tenant_id, acme.workspace_id, ["user", "password", "user"]) == {
        "user": "etl",
        "password": "p@ss",
    }
    assert resolve_secret_refs(acme.tenant_id, acme.workspace_id, []) == {}
    with pytest.raises(SecretsError) as info:
        resolve_secret_refs(acme.tenant_id, acme.workspace_id, ["user", "token", "api-key"])
    assert info.value.code == "SECRET_NOT_FOUND"
    assert info.value.details["names"] == ["api-key", "token"]


def test_read_model_rebuilds_from_the_log(acme, globex):
    a = create(acme, name="a")
    create(acme, name="b", description="bee")
    do_update_secret(metadata=acme.meta, secret_id=a, value="v2")
    do_reveal_secret(metadata=acme.meta, secret_id=a)
    do_delete_secret(metadata=acme.meta, secret_id=a)
    create(acme, name="a")
    create(globex, name="a")
    live = read_model_fingerprint()
    rebuild(["secrets"])
    assert read_model_fingerprint() == live


def _counts() -> tuple[int, int, int, int]:
    return Event.objects.count(), Secret.unscoped.count(), SecretVersion.objects.count(), KeyCheck.objects.count()


def test_bad_input_gives_a_code_and_writes_nothing(acme, globex):
    secret_id = create(acme, name="taken")
    before = _counts()
    workspace = acme.workspace_id
    calls = {
        "": "SECRET_NAME_INVALID",
        "x" * 101: "SECRET_NAME_INVALID",
        "with space": "SECRET_NAME_INVALID",
        "a/b": "SECRET_NAME_INVALID",
        "pässword": "SECRET_NAME_INVALID",
        "~deleted": "SECRET_NAME_INVALID",
        "taken": "SECRET_EXISTS",
    }
    for name, code in calls.items():
        with pytest.raises(SecretsError) as info:
            create(acme, name=name)
        assert info.value.code == code, name
    cases = [
        (lambda: create(acme, name=None), "SECRET_NAME_INVALID"),
        (lambda: create(acme, name="ok", value=""), "SECRET_INPUT_INVALID"),
        (lambda: create(acme, name="ok", value=b"bytes"), "SECRET_INPUT_INVALID"),
        (lambda: create(acme, name="ok", value="x" * 70_000), "SECRET_INPUT_INVALID"),
        (lambda: create(acme, name="ok", description="d" * 501), "SECRET_INPUT_INVALID"),
        (lambda: do_update_secret(metadata=acme.meta, secret_id="no-such", value="x"), "SECRET_NOT_FOUND"),
        (lambda: do_update_secret(metadata=acme.meta, secret_id=secret_id, value=""), "SECRET_INPUT_INVALID"),
        (lambda: do_delete_secret(metadata=acme.meta, secret_id="no-such"), "SECRET_NOT_FOUND"),
        (lambda: do_reveal_secret(metadata=acme.meta, secret_id="no-such"), "SECRET_NOT_FOUND"),
        (lambda: do_reveal_secret(metadata=acme.meta, secret_id="x" * 300), "SECRET_NOT_FOUND"),
        (lambda: do_reveal_secret(metadata=acme.meta, secret_id=secret_id, version=2), "SECRET_NOT_FOUND"),
        (lambda: do_reveal_secret(metadata=acme.meta, secret_id=secret_id, version=0), "SECRET_NOT_FOUND"),
        (
            lambda: do_create_secret(
                metadata=acme.meta, tenant_id=acme.tenant_id, workspace_id="nope", name="ok", value="v"
            ),
            "WORKSPACE_NOT_FOUND",
        ),
        (
            # a workspace of another tenant
            lambda: do_create_secret(
                metadata=replace(acme.meta, workspace_id=None),
                tenant_id=acme.tenant_id,
                workspace_id=globex.workspace_id,
                name="ok",
                value="v",
            ),
            "WORKSPACE_NOT_FOUND",
        ),
        (
            # metadata bound to another tenant: refused as if the tenant did not exist
            lambda: do_create_secret(
                metadata=globex.meta, tenant_id=acme.tenant_id, workspace_id=workspace, name="ok", value="v"
            ),
            "NOT_FOUND",
        ),
    ]
    for call, code in cases:
        with pytest.raises(Exception) as info:
            call()
        assert getattr(info.value, "code", None) == code, (code, info.value)
    assert _counts() == before


def test_a_lost_name_race_is_secret_exists_and_writes_nothing(acme, monkeypatch):
    create(acme, name="raced")
    before = _counts()
    monkeypatch.setattr(actions, "secret_exists", lambda *args: False)  # as if the other writer had not committed
    with pytest.raises(SecretsError) as info:
        create(acme, name="raced")
    assert info.value.code == "SECRET_EXISTS"
    assert _counts() == before
