"""Events of the secret stream. Metadata only: no value, ciphertext, key or fingerprint ever goes here."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("secrets.secret_created")
@dataclass(frozen=True)
class SecretCreated:
    secret_id: str
    tenant_id: str
    workspace_id: str
    name: str
    description: str


@event_type("secrets.secret_version_added")
@dataclass(frozen=True)
class SecretVersionAdded:
    """A new value was stored; ``kek_id`` names the master key its data key is wrapped with."""

    secret_id: str
    version: int
    kek_id: str


@event_type("secrets.secret_deleted")
@dataclass(frozen=True)
class SecretDeleted:
    secret_id: str


@event_type("secrets.secret_revealed")
@dataclass(frozen=True)
class SecretRevealed:
    """Audit: someone read the plaintext of this version (who and from where is in the metadata)."""

    secret_id: str
    version: int


@event_type("secrets.secret_rewrapped")
@dataclass(frozen=True)
class SecretRewrapped:
    """Key rotation: the version's data key is now wrapped by ``to_kek_id``; the value did not change."""

    secret_id: str
    version: int
    from_kek_id: str
    to_kek_id: str
