"""Errors of the secrets context, each with a stable code (docs/API.md, docs/SECURITY.md).

Messages name secrets, versions and key ids, never a value or key material.
"""

from __future__ import annotations

from controlplane.errors import DomainError


class SecretsError(DomainError):
    code = "SECRETS_ERROR"


class SecretsTampered(SecretsError):
    """An authentication tag did not verify: ciphertext, nonce, wrapped key or binding was altered."""

    code = "SECRETS_TAMPERED"


class SecretsKeyUnknown(SecretsError):
    """Stored data is wrapped by a master key id the key provider does not have."""

    code = "SECRETS_KEY_UNKNOWN"


class SecretsKeyMissing(SecretsError):
    """No master key is configured (and none may be generated here)."""

    code = "SECRETS_KEY_MISSING"


class SecretsKeyInvalid(SecretsError):
    """The master key configuration is malformed or its file is readable by others."""

    code = "SECRETS_KEY_INVALID"


class SecretsKeyMismatch(SecretsError):
    """A master key id is configured with other key material than the one it wrapped data with."""

    code = "SECRETS_KEY_MISMATCH"


class SecretNotFound(SecretsError):
    code = "SECRET_NOT_FOUND"


class SecretNameInvalid(SecretsError):
    code = "SECRET_NAME_INVALID"


class SecretExists(SecretsError):
    code = "SECRET_EXISTS"


class SecretInputInvalid(SecretsError):
    """A value or description that cannot be stored (empty, too long, not text)."""

    code = "SECRET_INPUT_INVALID"
