"""The signing key: created once, sealed under the master key (never stored in the clear), its public half
stable, re-sealed by a master-key rotation."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controlplane.agents import signing
from controlplane.agents.models import SigningKey
from controlplane.eventlog.metadata import Metadata
from controlplane.secrets import actions as secrets
from controlplane.secrets import keys
from controlplane.secrets.domain.errors import SecretsKeyUnknown
from controlplane.secrets.keys import LocalKeyProvider

pytestmark = pytest.mark.django_db


def test_the_key_is_made_once_and_its_private_half_is_only_stored_sealed(master_keys):
    first = signing.active_key()
    again = signing.active_key()
    assert (
        (first.key_id, first.public_key)
        == (again.key_id, again.public_key)
        == (
            signing.FIRST_KEY_ID,
            SigningKey.objects.get().public_key,
        )
    )
    row = SigningKey.objects.get()
    assert row.kek_id == "test"
    raw_private = first.private.private_bytes_raw()
    assert raw_private not in bytes(row.ciphertext) and raw_private not in bytes(row.wrapped_dek)
    envelope = signing.sign({"id": "a", "key_id": first.key_id, "params": {"x": "ü"}})
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(first.public_key))
    public.verify(base64.b64decode(envelope["signature"]), signing.canonical(envelope["action"]))
    with pytest.raises(ValueError):
        signing.sign({"id": "a", "key_id": "another"})


def test_a_master_key_rotation_reseals_the_signing_key(master_keys):
    before = signing.active_key()
    new = os.urandom(32)
    with keys.using_provider(LocalKeyProvider([("k2", new), ("test", master_keys.key("test"))])):
        secrets.do_rotate_keys(metadata=Metadata.for_system(None, reason="test"))
    assert SigningKey.objects.get().kek_id == "k2"
    signing._cache.clear()
    with keys.using_provider(LocalKeyProvider([("k2", new)])):
        assert signing.active_key().public_key == before.public_key  # opens without the old master key
    signing._cache.clear()
    with keys.using_provider(LocalKeyProvider([("test", master_keys.key("test"))])), pytest.raises(SecretsKeyUnknown):
        signing.active_key()
