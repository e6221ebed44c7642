"""Request ids (taken from a sane X-Request-ID header or made up, echoed back, carried into events and audit), and
the API's envelope for the errors Django answers itself."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from controlplane.api import limits
from controlplane.api.errors import envelope

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SANE.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


# The code for an error Django answers itself, before or after DRF (an unknown path, a crash, a bad header).
_CODES = {
    400: ("MALFORMED_REQUEST", "the request is malformed"),
    403: ("PERMISSION_DENIED", "forbidden"),
    404: ("NOT_FOUND", "not found"),
    405: ("METHOD_NOT_ALLOWED", "method not allowed"),
    413: ("REQUEST_TOO_LARGE", "the request body is too large"),
    500: ("INTERNAL_ERROR", "internal error; quote the request id"),
}
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


class ApiEnvelopeMiddleware:
    """Under ``/api/``: a body larger than MAX_REQUEST_BYTES is refused before anything reads it (413), and every
    error Django answers on its own (HTML by default) is the API's JSON error envelope instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(request, 400, "MALFORMED_REQUEST", "Content-Length is not a number")
        if length > limits.max_body_bytes():
            message = f"the request body is larger than {limits.max_body_bytes()} bytes"
            return _error(request, 413, "REQUEST_TOO_LARGE", message, {"limit": limits.max_body_bytes()})
        if "\x00" in request.path or any("\x00" in k or "\x00" in "".join(v) for k, v in request.GET.lists()):
            # PostgreSQL cannot store or compare a NUL character: refused here instead of a database error
            return _error(request, 400, "MALFORMED_REQUEST", "the path or query string contains a NUL character")
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            code, message = _CODES.get(response.status_code, (f"HTTP_{response.status_code}", "request failed"))
            converted = _error(request, response.status_code, code, message)
            for header in _KEPT_HEADERS:
                if header in response:
                    converted[header] = response[header]
            return converted
        return response


def _error(request: HttpRequest, status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    body = envelope(code, message, details, getattr(request, "request_id", ""))
    return JsonResponse(body, status=status)
