"""The API's limit per client address for requests that end without a valid credential (anonymous, refused,
the login endpoints), ``CONTROLPLANE_RATE_LIMIT_ADDRESS``, before authentication. An address over its limit is
answered 429 at once when it sends no credential, and after the check when its credential is refused (so a guess
learns nothing); a valid credential from that address still passes, and authenticated requests are not counted
per address (many users may share a proxy's address). ``429 RATE_LIMITED`` in the API's envelope with
``Retry-After``. Per credential: ``throttling.py``."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from controlplane.api.errors import envelope
from controlplane.iam import ratelimit
from controlplane.iam.backends import request_address

RATE_LIMITED = "RATE_LIMITED"


class AddressRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        address, rate = request_address(request), settings.CONTROLPLANE_RATE_LIMIT_ADDRESS
        wait = ratelimit.exceeded("address", address, rate)
        if wait and not _carries_credentials(request):
            return rate_limited(request, wait)
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            ratelimit.hit("address", address, rate)
            if wait:  # a credential that did not authenticate, over the limit: its answer is not given
                return rate_limited(request, wait)
        return response


def _carries_credentials(request: HttpRequest) -> bool:
    return "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES


def rate_limited(request: HttpRequest, wait: int) -> JsonResponse:
    message = "too many requests without a valid credential from this address"
    body = envelope(RATE_LIMITED, message, {"retry_after_seconds": wait}, getattr(request, "request_id", ""))
    response = JsonResponse(body, status=429)
    response["Retry-After"] = str(wait)
    return response
