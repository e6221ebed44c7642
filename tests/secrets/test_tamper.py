"""Altered or moved ciphertext rows are refused with SECRETS_TAMPERED: never decrypted wrong."""

from __future__ import annotations

import pytest

from controlplane.eventlog.models import Event
from controlplane.secrets import keys
from controlplane.secrets.actions import do_create_secret, do_reveal_secret, do_update_secret
from controlplane.secrets.domain.errors import SecretsError
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.secrets.models import SecretVersion
from controlplane.secrets.selectors import resolve_secret_refs
from tests.secrets.conftest import K1, K2

pytestmark = pytest.mark.django_db

VALUE = "tamper-target-value"
CRYPTO_FIELDS = ("kek_id", "wrapped_dek", "dek_nonce", "nonce", "ciphertext", "scheme")


def create(place, name: str = "target", value: str = VALUE) -> str:
    return do_create_secret(
        metadata=place.meta, tenant_id=place.tenant_id, workspace_id=place.workspace_id, name=name, value=value
    )


def refused(place, secret_id: str, version: int | None = None) -> SecretsError:
    events = Event.objects.count()
    with pytest.raises(SecretsError) as info:
        do_reveal_secret(metadata=place.meta, secret_id=secret_id, version=version)
    assert Event.objects.count() == events  # the audit event goes with the failed reveal
    assert VALUE not in str(info.value) and VALUE not in repr(info.value.details)
    return info.value


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x80]) + data[at + 1 :]


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_dek", "dek_nonce"])
@pytest.mark.parametrize("at", [0, 5, -1])
def test_a_flipped_byte_is_tampering(acme, field, at):
    secret_id = create(acme)
    row = SecretVersion.objects.get(secret_id=secret_id)
    value = bytes(getattr(row, field))
    SecretVersion.objects.filter(pk=row.pk).update(**{field: flip(value, at % len(value))})
    assert refused(acme, secret_id).code == "SECRETS_TAMPERED"
    with pytest.raises(SecretsError) as info:
        resolve_secret_refs(acme.tenant_id, acme.workspace_id, ["target"])
    assert info.value.code == "SECRETS_TAMPERED"


def test_truncated_fields_are_tampering(acme):
    secret_id = create(acme)
    SecretVersion.objects.filter(secret_id=secret_id).update(nonce=b"\x00\x01")
    assert refused(acme, secret_id).code == "SECRETS_TAMPERED"


def _move(source: str, target: str, *, source_version: int = 1, target_version: int = 1) -> None:
    row = SecretVersion.objects.get(secret_id=source, version=source_version)
    SecretVersion.objects.filter(secret_id=target, version=target_version).update(
        **{f: getattr(row, f) for f in CRYPTO_FIELDS}
    )


def test_a_ciphertext_moved_to_another_secret_is_tampering(acme):
    source = create(acme, "source", VALUE)
    target = create(acme, "target", "other value")
    _move(source, target)
    assert refused(acme, target).code == "SECRETS_TAMPERED"


def test_a_ciphertext_moved_to_another_tenant_is_tampering(acme, globex):
    source = create(acme, "target", VALUE)
    target = create(globex, "target", "globex value")
    _move(source, target)
    assert refused(globex, target).code == "SECRETS_TAMPERED"
    # Re-labelling the row itself with the other secret's id does not help either.
    SecretVersion.objects.filter(secret_id=target).delete()
    SecretVersion.objects.filter(secret_id=source).update(secret_id=target)
    assert refused(globex, target).code == "SECRETS_TAMPERED"


def test_a_ciphertext_moved_to_another_version_is_tampering(acme):
    secret_id = create(acme)
    do_update_secret(metadata=acme.meta, secret_id=secret_id, value="version two")
    _move(secret_id, secret_id, source_version=1, target_version=2)
    assert refused(acme, secret_id, 2).code == "SECRETS_TAMPERED"
    assert do_reveal_secret(metadata=acme.meta, secret_id=secret_id, version=1) == VALUE


def test_a_relabelled_key_id_is_tampering(acme):
    secret_id = create(acme)
    with keys.using_provider(LocalKeyProvider([("k2", K2), ("k1", K1)])):
        create(acme, "under-k2", "x")  # k2 has wrapped data: it has a key check too
        SecretVersion.objects.filter(secret_id=secret_id).update(kek_id="k2")
        assert refused(acme, secret_id).code == "SECRETS_TAMPERED"


def test_an_unknown_scheme_is_refused(acme):
    secret_id = create(acme)
    SecretVersion.objects.filter(secret_id=secret_id).update(scheme=9)
    assert refused(acme, secret_id).code == "SECRETS_TAMPERED"


def test_a_missing_ciphertext_row_is_not_found(acme):
    secret_id = create(acme)
    SecretVersion.objects.filter(secret_id=secret_id).delete()
    assert refused(acme, secret_id).code == "SECRET_NOT_FOUND"
