"""DRF authentication: personal API tokens (``Bearer stcp_…``) and JWT access tokens of a live login.

A token's user object is bound to the token (``iam.access.bind_token``): the access module then lets it reach
only what the token allows. A JWT access token names its login (``sid``) and dies with it (``iam.sessions``).
"""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from controlplane.iam import access, sessions, tokens


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):  # type: ignore[no-untyped-def]
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if len(header) != 2 or header[0] != self.keyword or not tokens.looks_like_token(header[1]):
            return None  # not ours: JWT or session may claim it
        try:
            token = tokens.authenticate(header[1])
        except tokens.TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(exc.message) from None
        request._request.api_token = token  # the audit recorder names the token as the actor
        access.bind_token(token.user, token)
        return token.user, token

    def authenticate_header(self, request) -> str:  # type: ignore[no-untyped-def]
        return 'Bearer realm="api"'


class LoginJWTAuthentication(JWTAuthentication):
    """simplejwt's access-token check, plus: the login the token descends from must still be live."""

    def get_user(self, validated_token):  # type: ignore[no-untyped-def]
        user = super().get_user(validated_token)
        try:
            sessions.check_access(validated_token, user)
        except sessions.SessionInvalid as exc:
            raise exceptions.AuthenticationFailed(exc.message) from None
        return user
