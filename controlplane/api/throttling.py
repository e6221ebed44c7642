"""The API's limit per credential (DRF, after authentication): per API token, or per user for a JWT or the
console's session (a refresh mints new access tokens, so the user is what they share),
``CONTROLPLANE_RATE_LIMIT_TOKEN``; answered ``429 RATE_LIMITED`` with ``Retry-After`` (controlplane/api/errors.py).
Requests without a valid credential are limited per address by ``address_limit.py``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from controlplane.iam import ratelimit


class CredentialRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = 0

    def allow_request(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True  # counted per address by the middleware
        token = getattr(request._request, "api_token", None)  # set by ApiTokenAuthentication
        ident = f"token:{token.id}" if token is not None else f"user:{user.pk}"
        self._wait = ratelimit.hit("credential", ident, settings.CONTROLPLANE_RATE_LIMIT_TOKEN)
        return self._wait == 0

    def wait(self) -> float | None:
        return self._wait or None
