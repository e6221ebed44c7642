"""Personal API tokens: ``stcp_<prefix>_<secret>``. Only a SHA-256 hash is stored; the token is shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

from controlplane.errors import DomainError
from controlplane.iam.models import ApiToken

TOKEN_PREFIX = "stcp_"  # noqa: S105  (a public marker, not a secret)
INVITATION_PREFIX = "stci_"


class TokenInvalid(DomainError):
    code = "AUTH_TOKEN_INVALID"


def generate(marker: str = TOKEN_PREFIX) -> tuple[str, str, str]:
    """(plaintext, lookup prefix, hash) for a new token."""
    prefix = secrets.token_hex(6)
    plaintext = f"{marker}{prefix}_{secrets.token_urlsafe(32)}"
    return plaintext, prefix, digest(plaintext)


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def authenticate(plaintext: str) -> ApiToken:
    """The live token for this plaintext, or TokenInvalid saying why (unknown, revoked, expired, disabled)."""
    try:
        prefix = plaintext[len(TOKEN_PREFIX) :].split("_", 1)[0]
    except IndexError:
        raise TokenInvalid("malformed API token") from None
    token = ApiToken.objects.select_related("user", "tenant").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, digest(plaintext)):
        raise TokenInvalid("unknown API token")
    if token.revoked_at is not None:
        raise TokenInvalid("this API token was revoked", token_id=token.id)
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenInvalid("this API token has expired", token_id=token.id)
    if not token.user.is_active:
        raise TokenInvalid("the token's user is disabled", token_id=token.id)
    if token.kind == "platform" and not token.user.is_superuser:
        raise TokenInvalid("the token's user is no longer a platform administrator", token_id=token.id)
    if token.kind != "platform" and (token.tenant is None or token.tenant.disabled):
        raise TokenInvalid("the token's tenant is disabled", token_id=token.id)
    # last_used_at at most once a minute: a busy automation should not write on every call
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
