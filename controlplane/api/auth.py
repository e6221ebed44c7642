"""DRF authentication: personal API tokens (``Bearer stcp_…``) beside simplejwt's JWT access tokens."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from controlplane.iam import tokens


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
        return token.user, token

    def authenticate_header(self, request) -> str:  # type: ignore[no-untyped-def]
        return 'Bearer realm="api"'
