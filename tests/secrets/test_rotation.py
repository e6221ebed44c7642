"""Key rotation: re-wrap to the active key in small transactions, old keys decrypt until then."""

from __future__ import annotations

import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.secrets import keys
from controlplane.secrets.actions import do_create_secret, do_reveal_secret, do_rotate_keys, do_update_secret
from controlplane.secrets.domain.errors import SecretsError
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.secrets.models import SecretVersion
from tests.secrets.conftest import K1, K2

pytestmark = pytest.mark.django_db

ONLY_K1 = LocalKeyProvider([("k1", K1)])
K2_ACTIVE = LocalKeyProvider([("k2", K2), ("k1", K1)])
ONLY_K2 = LocalKeyProvider([("k2", K2)])
SYSTEM = Metadata.for_system(None, reason="rotate_keys")


def create(place, name: str, value: str) -> str:
    return do_create_secret(
        metadata=place.meta, tenant_id=place.tenant_id, workspace_id=place.workspace_id, name=name, value=value
    )


def reveal_all(place, expected: dict[tuple[str, int], str]) -> None:
    for (secret_id, version), value in expected.items():
        assert do_reveal_secret(metadata=place.meta, secret_id=secret_id, version=version) == value


def error_code(call) -> str:
    with pytest.raises(SecretsError) as info:
        call()
    return info.value.code


def test_rotation_rewraps_everything_and_retires_the_old_key(acme, globex):
    a = create(acme, "a", "alpha-1")
    do_update_secret(metadata=acme.meta, secret_id=a, value="alpha-2")
    b = create(acme, "b", "bravo")
    c = create(globex, "c", "charlie")
    expected = {(a, 1): "alpha-1", (a, 2): "alpha-2", (b, 1): "bravo"}

    with keys.using_provider(K2_ACTIVE):
        d = create(acme, "d", "delta")  # new data keys are wrapped by the active key at once
        assert SecretVersion.objects.get(secret_id=d).kek_id == "k2"
        expected[(d, 1)] = "delta"
        reveal_all(acme, expected)  # k1 still decrypts what it wrapped

    with keys.using_provider(ONLY_K2):  # removing k1 before rotating loses access, loudly
        assert error_code(lambda: do_reveal_secret(metadata=acme.meta, secret_id=a)) == "SECRETS_KEY_UNKNOWN"
        assert error_code(lambda: do_rotate_keys(metadata=SYSTEM)) == "SECRETS_KEY_UNKNOWN"
    assert SecretVersion.objects.filter(kek_id="k1").count() == 4

    events_before = Event.objects.count()
    batches: list[dict[str, int]] = []
    with keys.using_provider(K2_ACTIVE):
        assert do_rotate_keys(metadata=SYSTEM, batch_size=2, progress=batches.append) == 4
        assert batches == [{"k1": 2}, {"k1": 1}, {"k1": 1}]  # a transaction per secret and batch
        assert do_rotate_keys(metadata=SYSTEM) == 0  # idempotent
    assert set(SecretVersion.objects.values_list("kek_id", flat=True)) == {"k2"}
    assert SecretVersion.objects.filter(rewrapped_at__isnull=False).count() == 4

    rewrapped = Event.objects.filter(event_type="secrets.secret_rewrapped").order_by("position")
    assert Event.objects.count() == events_before + 4
    assert {e.event_type for e in Event.objects.order_by("-position")[:4]} == {"secrets.secret_rewrapped"}
    payloads = [(e.stream_id, e.tenant_id) for e in rewrapped]
    assert sorted(payloads) == sorted(
        [(f"secret-{a}", acme.tenant_id)] * 2 + [(f"secret-{b}", acme.tenant_id), (f"secret-{c}", globex.tenant_id)]
    )
    assert all(e.actor_kind == "system" for e in rewrapped)

    with keys.using_provider(ONLY_K2):  # k1 can go now
        reveal_all(acme, expected)
        assert do_reveal_secret(metadata=globex.meta, secret_id=c) == "charlie"


def test_each_batch_commits_on_its_own_and_a_rerun_continues(acme):
    a = create(acme, "a", "1")
    b = create(acme, "b", "2")
    with keys.using_provider(LocalKeyProvider([("k0", os.urandom(32))])):
        lost = create(acme, "lost", "3")  # wrapped by a key nobody will configure
    d = create(acme, "d", "4")
    with keys.using_provider(K2_ACTIVE):
        done: list[dict[str, int]] = []
        with pytest.raises(SecretsError) as info:
            do_rotate_keys(metadata=SYSTEM, batch_size=1, progress=done.append)
        assert info.value.code == "SECRETS_KEY_UNKNOWN" and "'k0'" in info.value.message
        assert done == [{"k1": 1}, {"k1": 1}]
        kek = dict(SecretVersion.objects.values_list("secret_id", "kek_id"))
        assert (kek[a], kek[b], kek[lost], kek[d]) == ("k2", "k2", "k0", "k1")
        reveal_all(acme, {(a, 1): "1", (d, 1): "4"})  # half-rotated: both keys decrypt their rows


def test_a_wrong_master_key_is_a_clear_error(acme):
    a = create(acme, "a", "alpha")
    wrong = LocalKeyProvider([("k1", os.urandom(32))])
    with keys.using_provider(wrong):
        with pytest.raises(SecretsError) as info:
            do_reveal_secret(metadata=acme.meta, secret_id=a)
        assert info.value.code == "SECRETS_KEY_MISMATCH"
        assert "'k1'" in info.value.message and "other key material" in info.value.message
        assert error_code(lambda: create(acme, "b", "bravo")) == "SECRETS_KEY_MISMATCH"  # nothing new under it
    with keys.using_provider(LocalKeyProvider([("k2", K2), ("k1", os.urandom(32))])):
        assert error_code(lambda: do_rotate_keys(metadata=SYSTEM)) == "SECRETS_KEY_MISMATCH"
    assert set(SecretVersion.objects.values_list("kek_id", flat=True)) == {"k1"}
    assert do_reveal_secret(metadata=acme.meta, secret_id=a) == "alpha"


def test_rotate_keys_command(acme):
    create(acme, "a", "1")
    create(acme, "b", "2")
    out = StringIO()
    with keys.using_provider(K2_ACTIVE):
        call_command("rotate_keys", "--batch-size", "1", stdout=out)
        assert out.getvalue().splitlines() == [
            "re-wrapped 2 data keys to k2: 2 from k1",
            "no data key uses k1 any more; it can be removed from the key configuration",
        ]
        out = StringIO()
        call_command("rotate_keys", stdout=out)
        assert out.getvalue().startswith("nothing to re-wrap: every data key is wrapped by k2")
    audits = list(AuditRecord.objects.filter(action="command.rotate_keys").order_by("id"))
    assert [(a.result, a.actor_kind) for a in audits] == [("ok", "system")] * 2
    assert json.loads(audits[0].details) == {"to": "k2", "rewrapped": {"k1": 2}}
    rewrapped = Event.objects.filter(event_type="secrets.secret_rewrapped")
    assert {(e.actor_kind, e.actor_id.endswith("manage.py rotate_keys")) for e in rewrapped} == {("system", True)}


def test_rotate_keys_command_fails_with_one_clear_line(acme):
    create(acme, "a", "1")
    with keys.using_provider(ONLY_K2), pytest.raises(CommandError) as info:
        call_command("rotate_keys", stdout=StringIO())
    assert str(info.value).startswith("SECRETS_KEY_UNKNOWN: secret ")
    assert "'k1'" in str(info.value) and "\n" not in str(info.value)
    audit = AuditRecord.objects.get(action="command.rotate_keys")
    assert (audit.result, audit.error_code) == ("failed", "SECRETS_KEY_UNKNOWN")
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("rotate_keys", "--batch-size", "0")
