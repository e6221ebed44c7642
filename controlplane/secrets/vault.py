"""Glue between the envelope, the key provider and the ``SecretVersion`` table. Used by actions and
selectors only; every key-related failure becomes a coded ``SecretsError``."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from controlplane.secrets import envelope
from controlplane.secrets.domain.errors import (
    SecretNotFound,
    SecretsKeyMismatch,
    SecretsKeyUnknown,
    SecretsTampered,
)
from controlplane.secrets.envelope import Binding, Sealed
from controlplane.secrets.keys import KeyProvider, get_provider
from controlplane.secrets.models import KeyCheck, SecretVersion

log = logging.getLogger("controlplane.secrets")


def provider_key(provider: KeyProvider, kek_id: str) -> bytes:
    try:
        return provider.key(kek_id)
    except SecretsKeyUnknown:
        raise
    except KeyError:
        raise SecretsKeyUnknown(f"master key {kek_id!r} is not configured", key_id=kek_id) from None


def ensure_key_check(kek_id: str, kek: bytes) -> None:
    """Before ``kek_id`` wraps anything: record its check, or refuse if the id held other key material."""
    check = KeyCheck.objects.filter(kek_id=kek_id).first()
    if check is None:
        nonce, tag = envelope.make_key_check(kek_id, kek)
        try:
            with transaction.atomic():
                KeyCheck.objects.create(kek_id=kek_id, nonce=nonce, tag=tag)
            return
        except IntegrityError:  # another process recorded it first
            check = KeyCheck.objects.get(kek_id=kek_id)
    if not envelope.key_check_matches(kek_id, kek, check.nonce, check.tag):
        raise _mismatch(kek_id)


def _mismatch(kek_id: str) -> SecretsKeyMismatch:
    return SecretsKeyMismatch(
        f"master key {kek_id!r} is configured with other key material than the key {kek_id!r} that wrapped "
        "the stored data keys: restore the original value of that key id (every process must share it)",
        key_id=kek_id,
    )


def verify_keys(provider: KeyProvider | None = None) -> list[str]:
    """Check every configured key id that has wrapped data against its key check; returns the ids checked."""
    provider = provider or get_provider()
    checked = []
    for kek_id in provider.key_ids():
        check = KeyCheck.objects.filter(kek_id=kek_id).first()
        if check is None:
            continue
        if not envelope.key_check_matches(kek_id, provider_key(provider, kek_id), check.nonce, check.tag):
            raise _mismatch(kek_id)
        checked.append(kek_id)
    return checked


def seal_value(plaintext: bytes, binding: Binding) -> Sealed:
    provider = get_provider()
    kek_id = provider.active_key_id()
    kek = provider_key(provider, kek_id)
    ensure_key_check(kek_id, kek)
    return envelope.seal(plaintext, binding, kek_id=kek_id, kek=kek)


def store(sealed: Sealed, binding: Binding, created_at: datetime) -> SecretVersion:
    return SecretVersion.objects.create(
        secret_id=binding.secret_id,
        version=binding.version,
        scheme=envelope.SCHEME,
        kek_id=sealed.kek_id,
        wrapped_dek=sealed.wrapped_dek,
        dek_nonce=sealed.dek_nonce,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        created_at=created_at,
    )


def sealed_of(row: SecretVersion) -> Sealed:
    return Sealed(
        kek_id=row.kek_id,
        wrapped_dek=bytes(row.wrapped_dek),
        dek_nonce=bytes(row.dek_nonce),
        nonce=bytes(row.nonce),
        ciphertext=bytes(row.ciphertext),
    )


def _explain_failure(exc: SecretsTampered, kek_id: str, kek: bytes) -> SecretsTampered | SecretsKeyMismatch:
    check = KeyCheck.objects.filter(kek_id=kek_id).first()
    if check is not None and not envelope.key_check_matches(kek_id, kek, check.nonce, check.tag):
        return _mismatch(kek_id)
    return exc


def _key_for(provider: KeyProvider, row: SecretVersion, binding: Binding) -> bytes:
    if row.scheme != envelope.SCHEME:
        raise SecretsTampered(
            f"secret {binding.secret_id} version {binding.version} has unknown scheme {row.scheme}",
            secret_id=binding.secret_id,
        )
    try:
        return provider_key(provider, row.kek_id)
    except SecretsKeyUnknown as exc:
        raise SecretsKeyUnknown(
            f"secret {binding.secret_id} version {binding.version} is wrapped by master key {row.kek_id!r}, "
            f"which is not configured (configured: {', '.join(provider.key_ids())})",
            key_id=row.kek_id,
            secret_id=binding.secret_id,
            version=binding.version,
        ) from exc


def open_value(binding: Binding) -> bytes:
    """The plaintext of one stored version; raises SECRET_NOT_FOUND, SECRETS_KEY_*, SECRETS_TAMPERED."""
    row = SecretVersion.objects.filter(secret_id=binding.secret_id, version=binding.version).first()
    if row is None:
        raise SecretNotFound(
            f"secret {binding.secret_id} has no stored version {binding.version}",
            secret_id=binding.secret_id,
            version=binding.version,
        )
    provider = get_provider()
    kek = _key_for(provider, row, binding)
    try:
        return envelope.open_sealed(sealed_of(row), binding, kek=kek)
    except SecretsTampered as exc:
        error = _explain_failure(exc, row.kek_id, kek)
        log.warning("%s (secret %s version %s)", error.code, binding.secret_id, binding.version)
        raise error from None


def rewrap_row(row: SecretVersion, binding: Binding, provider: KeyProvider, to_kek_id: str, to_kek: bytes) -> str:
    """Re-wrap one row's data key with ``to_kek_id`` in place (the caller holds the row locked); returns the
    key id it was wrapped with before."""
    from_kek_id = row.kek_id
    kek = _key_for(provider, row, binding)
    try:
        sealed = envelope.rewrap(sealed_of(row), binding, kek=kek, new_kek_id=to_kek_id, new_kek=to_kek)
    except SecretsTampered as exc:
        raise _explain_failure(exc, from_kek_id, kek) from None
    row.kek_id = sealed.kek_id
    row.wrapped_dek = sealed.wrapped_dek
    row.dek_nonce = sealed.dek_nonce
    return from_kek_id
