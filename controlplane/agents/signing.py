"""The control plane's Ed25519 signing key: generated once, its private half sealed with the secrets store's
envelope encryption under the active master key (docs/adr/0009-agent-signing-key.md), its public half given
to every agent at registration, which pins it. ``key_id`` names the key in every envelope so a rotation can
come later without changing the protocol."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, transaction
from django.utils import timezone

from controlplane.agents.models import SigningKey
from controlplane.secrets import envelope, vault
from controlplane.secrets.keys import get_provider

FIRST_KEY_ID = "cp-ed25519-1"
_BINDING_TENANT = "platform"  # not a tenant's secret: the AAD still binds the sealed key to its id


@dataclass(frozen=True)
class LoadedKey:
    key_id: str
    public_key: str  # raw 32 bytes, base64
    private: Ed25519PrivateKey


_lock = threading.Lock()
_cache: dict[tuple[str, str, bytes], Ed25519PrivateKey] = {}


def canonical(action: dict[str, Any]) -> bytes:
    """The bytes that are signed (docs/AGENT_PROTOCOL.md, "Canonical JSON")."""
    return json.dumps(action, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _binding(key_id: str) -> envelope.Binding:
    return envelope.Binding(tenant_id=_BINDING_TENANT, secret_id=f"agents.signing-key:{key_id}", version=1)


def _create(key_id: str) -> None:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    provider = get_provider()
    kek_id = provider.active_key_id()
    kek = vault.provider_key(provider, kek_id)
    vault.ensure_key_check(kek_id, kek)
    sealed = envelope.seal(raw_private, _binding(key_id), kek_id=kek_id, kek=kek)
    SigningKey.objects.create(
        key_id=key_id,
        public_key=base64.b64encode(raw_public).decode("ascii"),
        kek_id=sealed.kek_id,
        wrapped_dek=sealed.wrapped_dek,
        dek_nonce=sealed.dek_nonce,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        active=True,
        created_at=timezone.now(),
    )


def _active_row() -> SigningKey:
    row = SigningKey.objects.filter(active=True).order_by("-created_at").first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            _create(FIRST_KEY_ID)
    except IntegrityError:
        pass  # another process created it first: use theirs
    return SigningKey.objects.get(key_id=FIRST_KEY_ID)


def active_key() -> LoadedKey:
    """The key new envelopes are signed with, created on first use."""
    row = _active_row()
    cache_key = (row.key_id, row.public_key, bytes(row.ciphertext))
    private = _cache.get(cache_key)
    if private is None:
        sealed = envelope.Sealed(
            kek_id=row.kek_id,
            wrapped_dek=bytes(row.wrapped_dek),
            dek_nonce=bytes(row.dek_nonce),
            nonce=bytes(row.nonce),
            ciphertext=bytes(row.ciphertext),
        )
        provider = get_provider()
        raw = envelope.open_sealed(sealed, _binding(row.key_id), kek=vault.provider_key(provider, row.kek_id))
        private = Ed25519PrivateKey.from_private_bytes(raw)
        with _lock:
            _cache[cache_key] = private
    return LoadedKey(key_id=row.key_id, public_key=row.public_key, private=private)


def public_key_info() -> dict[str, str]:
    key = active_key()
    return {"key_id": key.key_id, "public_key": key.public_key}


def sign(action: dict[str, Any], key: LoadedKey | None = None) -> dict[str, Any]:
    """The envelope of ``action`` (which must already carry ``key_id``): the action and its signature."""
    key = key or active_key()
    if action.get("key_id") != key.key_id:
        raise ValueError("the action names another signing key")
    signature = key.private.sign(canonical(action))
    return {"action": action, "signature": base64.b64encode(signature).decode("ascii")}


def rewrap_all(to_kek_id: str) -> int:
    """Re-seal every signing key's data key under master key ``to_kek_id`` (for a master-key rotation)."""
    provider = get_provider()
    to_kek = vault.provider_key(provider, to_kek_id)
    moved = 0
    with transaction.atomic():
        for row in SigningKey.objects.select_for_update().exclude(kek_id=to_kek_id):
            sealed = envelope.Sealed(
                kek_id=row.kek_id,
                wrapped_dek=bytes(row.wrapped_dek),
                dek_nonce=bytes(row.dek_nonce),
                nonce=bytes(row.nonce),
                ciphertext=bytes(row.ciphertext),
            )
            new = envelope.rewrap(
                sealed,
                _binding(row.key_id),
                kek=vault.provider_key(provider, row.kek_id),
                new_kek_id=to_kek_id,
                new_kek=to_kek,
            )
            row.kek_id, row.wrapped_dek, row.dek_nonce = new.kek_id, new.wrapped_dek, new.dek_nonce
            row.save(update_fields=["kek_id", "wrapped_dek", "dek_nonce"])
            moved += 1
    return moved
