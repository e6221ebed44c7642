"""The envelope scheme on its own: no database, no Django."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from controlplane.secrets import envelope
from controlplane.secrets.domain.errors import SecretsTampered
from controlplane.secrets.envelope import Binding, Sealed

KEK = os.urandom(32)
OTHER = os.urandom(32)
B = Binding(tenant_id="t1", secret_id="s1", version=1)


def sealed(text: bytes = b"hunter2-value") -> Sealed:
    return envelope.seal(text, B, kek_id="k1", kek=KEK)


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_round_trip_and_shape():
    box = sealed()
    assert envelope.open_sealed(box, B, kek=KEK) == b"hunter2-value"
    assert len(box.nonce) == len(box.dek_nonce) == 12
    assert len(box.wrapped_dek) == 32 + 16  # key + tag
    assert b"hunter2" not in box.ciphertext + box.wrapped_dek


def test_every_seal_has_its_own_data_key_and_nonces():
    a, b = sealed(), sealed()
    assert a.ciphertext != b.ciphertext and a.nonce != b.nonce and a.dek_nonce != b.dek_nonce
    assert envelope.unwrap_dek(a, B, kek=KEK) != envelope.unwrap_dek(b, B, kek=KEK)


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_dek", "dek_nonce"])
@pytest.mark.parametrize("at", [0, -1])
def test_a_flipped_byte_anywhere_is_tampering(field, at):
    box = sealed()
    value = getattr(box, field)
    altered = Sealed(**{**box.__dict__, field: flip(value, at % len(value))})
    with pytest.raises(SecretsTampered) as info:
        envelope.open_sealed(altered, B, kek=KEK)
    assert info.value.code == "SECRETS_TAMPERED"
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("field", ["nonce", "dek_nonce"])
def test_a_truncated_nonce_is_tampering(field):
    box = sealed()
    with pytest.raises(SecretsTampered):
        envelope.open_sealed(Sealed(**{**box.__dict__, field: b""}), B, kek=KEK)


@pytest.mark.parametrize(
    "other",
    [
        Binding(tenant_id="t2", secret_id="s1", version=1),
        Binding(tenant_id="t1", secret_id="s2", version=1),
        Binding(tenant_id="t1", secret_id="s1", version=2),
    ],
)
def test_the_binding_is_authenticated(other):
    with pytest.raises(SecretsTampered):
        envelope.open_sealed(sealed(), other, kek=KEK)


def test_the_key_id_is_authenticated():
    box = sealed()
    with pytest.raises(SecretsTampered):
        envelope.open_sealed(Sealed(**{**box.__dict__, "kek_id": "k2"}), B, kek=KEK)


def test_another_master_key_cannot_unwrap():
    with pytest.raises(SecretsTampered):
        envelope.open_sealed(sealed(), B, kek=OTHER)


def test_rewrap_keeps_the_ciphertext_and_moves_the_key():
    box = sealed()
    moved = envelope.rewrap(box, B, kek=KEK, new_kek_id="k2", new_kek=OTHER)
    assert (moved.kek_id, moved.ciphertext, moved.nonce) == ("k2", box.ciphertext, box.nonce)
    assert moved.wrapped_dek != box.wrapped_dek and moved.dek_nonce != box.dek_nonce
    assert envelope.open_sealed(moved, B, kek=OTHER) == b"hunter2-value"
    with pytest.raises(SecretsTampered):
        envelope.open_sealed(moved, B, kek=KEK)


def test_key_checks_tell_key_material_apart():
    nonce, tag = envelope.make_key_check("k1", KEK)
    assert envelope.key_check_matches("k1", KEK, nonce, tag)
    assert not envelope.key_check_matches("k1", OTHER, nonce, tag)
    assert not envelope.key_check_matches("k2", KEK, nonce, tag)


def test_master_keys_must_be_256_bits():
    with pytest.raises(ValueError):
        envelope.seal(b"x", B, kek_id="k1", kek=os.urandom(16))


def test_domain_and_envelope_do_not_import_django():
    package = Path(envelope.__file__).parent
    for path in [package / "envelope.py", *sorted((package / "domain").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "django" or n.startswith("django.") for n in names), path
