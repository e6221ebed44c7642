"""AES-256-GCM envelope encryption, pure (no Django): a fresh data key per secret version, wrapped by a
master key-encryption key (KEK) that has an id.

value:     ciphertext = AES-GCM(DEK, nonce, plaintext, AAD = [purpose, tenant, secret, version])
data key:  wrapped    = AES-GCM(KEK, dek_nonce, DEK,   AAD = [purpose, kek id, tenant, secret, version])

Both AADs bind the row to its tenant, secret and version, so a ciphertext or wrapped key copied to
another secret, version or tenant fails authentication like a flipped byte does. Every failure of a tag
is ``SecretsTampered``: nothing is ever decrypted wrongly. Nonces are 96 random bits; each key encrypts
exactly one thing (a DEK one value, a KEK many DEKs, each under its own random nonce).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controlplane.secrets.domain.errors import SecretsTampered

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
SCHEME = 1  # bump with a new AAD layout or algorithm; stored per version


@dataclass(frozen=True)
class Binding:
    """What a ciphertext belongs to; never stored with it, always taken from the secret's metadata."""

    tenant_id: str
    secret_id: str
    version: int

    def value_aad(self) -> bytes:
        return _aad("controlplane.secret-value.v1", self.tenant_id, self.secret_id, self.version)

    def dek_aad(self, kek_id: str) -> bytes:
        return _aad("controlplane.secret-dek.v1", kek_id, self.tenant_id, self.secret_id, self.version)


def _aad(*parts: object) -> bytes:
    # JSON keeps the fields unambiguous whatever characters the ids contain.
    return json.dumps(list(parts), separators=(",", ":"), ensure_ascii=True).encode("ascii")


@dataclass(frozen=True)
class Sealed:
    kek_id: str
    wrapped_dek: bytes
    dek_nonce: bytes
    nonce: bytes
    ciphertext: bytes


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes")


def seal(plaintext: bytes, binding: Binding, *, kek_id: str, kek: bytes) -> Sealed:
    _check_key(kek, "a master key")
    dek = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext, binding.value_aad())
    dek_nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(bytes(kek)).encrypt(dek_nonce, dek, binding.dek_aad(kek_id))
    return Sealed(kek_id=kek_id, wrapped_dek=wrapped, dek_nonce=dek_nonce, nonce=nonce, ciphertext=ciphertext)


def _decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes, what: str, binding: Binding) -> bytes:
    try:
        return AESGCM(bytes(key)).decrypt(bytes(nonce), bytes(data), aad)
    except (InvalidTag, ValueError):
        # ValueError: a nonce of an impossible length, i.e. an altered row as well.
        raise SecretsTampered(
            f"the {what} of secret {binding.secret_id} version {binding.version} failed authentication: "
            "it was altered, or it belongs to another secret, version or tenant",
            secret_id=binding.secret_id,
            version=binding.version,
        ) from None


def unwrap_dek(sealed: Sealed, binding: Binding, *, kek: bytes) -> bytes:
    _check_key(kek, "a master key")
    dek = _decrypt(kek, sealed.dek_nonce, sealed.wrapped_dek, binding.dek_aad(sealed.kek_id), "data key", binding)
    if len(dek) != KEY_BYTES:  # cannot happen for data this module wrapped
        raise SecretsTampered("a data key has the wrong length", secret_id=binding.secret_id)
    return dek


def open_sealed(sealed: Sealed, binding: Binding, *, kek: bytes) -> bytes:
    dek = unwrap_dek(sealed, binding, kek=kek)
    return _decrypt(dek, sealed.nonce, sealed.ciphertext, binding.value_aad(), "value", binding)


def rewrap(sealed: Sealed, binding: Binding, *, kek: bytes, new_kek_id: str, new_kek: bytes) -> Sealed:
    """The same ciphertext with its data key wrapped by another master key (under a fresh nonce)."""
    _check_key(new_kek, "a master key")
    dek = unwrap_dek(sealed, binding, kek=kek)
    dek_nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(bytes(new_kek)).encrypt(dek_nonce, dek, binding.dek_aad(new_kek_id))
    return Sealed(
        kek_id=new_kek_id, wrapped_dek=wrapped, dek_nonce=dek_nonce, nonce=sealed.nonce, ciphertext=sealed.ciphertext
    )


# --- key checks: tell "this master key is not the one that wrapped the data" from tampering -----------


def _check_aad(kek_id: str) -> bytes:
    return _aad("controlplane.kek-check.v1", kek_id)


def make_key_check(kek_id: str, kek: bytes) -> tuple[bytes, bytes]:
    """(nonce, tag): an authentication tag over nothing, proving later which key material an id had."""
    _check_key(kek, "a master key")
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(bytes(kek)).encrypt(nonce, b"", _check_aad(kek_id))


def key_check_matches(kek_id: str, kek: bytes, nonce: bytes, tag: bytes) -> bool:
    _check_key(kek, "a master key")
    try:
        AESGCM(bytes(kek)).decrypt(bytes(nonce), bytes(tag), _check_aad(kek_id))
    except (InvalidTag, ValueError):
        return False
    return True
