"""API logins as token families (``LoginSession``): minting their JWTs and checking the tokens of a family.

Every refresh and access token of one password login carries the login's id as the ``sid`` claim. Only the
newest refresh token of a family may be used; an older one coming back means a copy leaked, so the whole
family is revoked (``actions.do_refresh_login``). Access tokens are refused as soon as their family is revoked.
Tokens without ``sid`` (minted before families existed, or by tests) are access-checked as before; a refresh
token without one is refused: its holder logs in again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken, Token

from controlplane.errors import DomainError
from controlplane.iam.models import LoginSession

SID = "sid"
LAST_USED_EVERY_SECONDS = 60  # like API tokens: a busy client should not write on every call


class SessionInvalid(DomainError):
    code = "AUTH_TOKEN_INVALID"


def mint(session: LoginSession, user: AbstractBaseUser) -> RefreshToken:
    """A refresh token of the family (its access token: ``.access_token``); the family remembers its jti."""
    refresh = RefreshToken.for_user(user)
    refresh[SID] = session.id
    session.refresh_jti = refresh["jti"]
    session.expires_at = datetime.fromtimestamp(refresh["exp"], tz=UTC)
    return refresh


def live(session: LoginSession | None) -> bool:
    return session is not None and session.revoked_at is None and session.expires_at > timezone.now()


def check_access(token: Token, user: AbstractBaseUser) -> None:
    """Refuse an access token whose login was revoked (reuse, logout, 'end this session') or has expired."""
    sid = token.get(SID)
    if sid is None:
        return
    session = LoginSession.objects.filter(id=str(sid), user_id=user.pk).first()
    if not live(session):
        raise SessionInvalid("this login has ended; log in again")
    now = timezone.now()
    if (now - session.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS:
        LoginSession.objects.filter(pk=session.pk).update(last_used_at=now)
