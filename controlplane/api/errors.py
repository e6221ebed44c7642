"""One error envelope for every API error, and the map from error codes to HTTP status.

``{"error": {"code": "...", "message": "...", "details": {...}, "request_id": "..."}}``; the catalogue of
codes is docs/API.md.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default

from controlplane.errors import DomainError

log = logging.getLogger(__name__)

STATUS: dict[str, int] = {
    "AUTH_REQUIRED": 401,
    "AUTH_FAILED": 401,
    "AUTH_TOKEN_INVALID": 401,
    "PERMISSION_DENIED": 403,
    "TENANT_DISABLED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "EVENTLOG_CONCURRENCY_CONFLICT": 409,
    "VERSION_CONFLICT": 409,
    "TENANT_QUOTA_EXCEEDED": 409,
    "RUN_TRANSITION_ILLEGAL": 409,
    "RUN_BUSY": 409,
    "IDEMPOTENCY_IN_PROGRESS": 409,
    "AGENT_REVOKED": 409,  # operator API: the agent is revoked (the agent API itself answers 401)
    "AGENT_ACTION_NOT_ALLOWED": 409,
    "AGENT_ACTION_KEY_REUSED": 409,
    "AGENT_ACTION_TRANSITION_ILLEGAL": 409,
    "AGENT_TRANSITION_ILLEGAL": 409,
    "AGENT_BOOTSTRAP_TOKEN_USED": 409,
    "PRECONDITION_FAILED": 412,
    "REQUEST_TOO_LARGE": 413,
    "FAULT_TEXT_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "LOGIN_THROTTLED": 429,
    "RATE_LIMITED": 429,
    "EVENTLOG_UNKNOWN_EVENT_TYPE": 500,
    "EVENTLOG_PAYLOAD_NOT_JSON": 500,
    "EVENTLOG_METADATA_MISSING": 500,
    "EVENTLOG_IMMUTABLE": 500,
    "EVENTLOG_UPCAST_MISSING": 500,
    "SECRETS_TAMPERED": 500,
    "SECRETS_KEY_UNKNOWN": 500,
    "SECRETS_KEY_MISSING": 500,
    "SECRETS_KEY_INVALID": 500,
    "SECRETS_KEY_MISMATCH": 500,
    # the engine's side of a request (controlplane/seatunnel/client.py)
    "ZETA_UNREACHABLE": 502,
    "ZETA_AUTH_FAILED": 502,
    "ZETA_BAD_RESPONSE": 502,
    "ZETA_REQUEST_REJECTED": 422,
    "ZETA_SUBMIT_OUTCOME_UNKNOWN": 504,
    "ZETA_UNSUPPORTED": 501,
    "ZETA_UNSUPPORTED_VERSION": 422,
    "ZETA_LOGS_UNREACHABLE": 502,
    # operations (controlplane/operations)
    "OPERATION_NOT_CANCELLABLE": 409,
    "OPERATION_TRANSITION_ILLEGAL": 409,
    "OPERATION_NO_AGENTS": 409,
    "OPERATION_AGENT_UNAVAILABLE": 409,
    # notifications (controlplane/notifications)
    "NOTIFICATION_CHANNEL_DISABLED": 409,
    "NOTIFICATION_CHANNEL_TRANSITION_ILLEGAL": 409,
    "NOTIFICATION_DELIVERY_NOT_DEAD": 409,
    # diagnostics (controlplane/diagnostics)
    "DIAGNOSTIC_ARCHIVE_EXPIRED": 410,
    "DIAGNOSTIC_FIX_NONE": 409,
    "DIAGNOSTIC_FIX_NOT_ALLOWED": 422,
    "DIAGNOSTIC_FIX_PLAN_CHANGED": 409,
    "OPERATION_PLAN_CHANGED": 409,
    "DIAGNOSTIC_FIX_NEEDS_RUN": 409,
    "DIAGNOSTIC_FIX_JOB_GONE": 409,
    "DIAGNOSTIC_FIX_FORMAT_UNSUPPORTED": 422,
    "DIAGNOSTIC_FIX_VALUE_UNREADABLE": 422,
    # identity (controlplane/iam)
    "TENANT_LAST_OWNER": 409,
    "ALERT_NOT_FIRING": 409,
    "ALERT_SILENCE_ENDED": 409,
    "ALERT_TRANSITION_ILLEGAL": 409,
}


def status_for(code: str) -> int:
    if code in STATUS:
        return STATUS[code]
    if code.endswith("_NOT_FOUND"):
        return 404
    if code.endswith(("_TAKEN", "_EXISTS", "_CONFLICT")):
        return 409
    return 400


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"


def envelope(code: str, message: str, details: dict | None, request_id: str) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}, "request_id": request_id}}


def _validation_details(detail: object) -> dict:
    if isinstance(detail, dict):
        return {"fields": {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}}
    if isinstance(detail, list):
        return {"fields": {"non_field_errors": [str(m) for m in detail]}}
    return {"fields": {"non_field_errors": [str(detail)]}}


_DRF_CODES = {
    exceptions.NotAuthenticated: ("AUTH_REQUIRED", "authentication credentials were not provided"),
    exceptions.AuthenticationFailed: ("AUTH_FAILED", None),
    exceptions.PermissionDenied: ("PERMISSION_DENIED", None),
    exceptions.NotFound: ("NOT_FOUND", "not found"),
    exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", None),
    exceptions.Throttled: ("RATE_LIMITED", "too many requests with this credential"),
    exceptions.ParseError: ("MALFORMED_REQUEST", None),
    exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", None),
    exceptions.NotAcceptable: ("NOT_ACCEPTABLE", None),
}


def exception_handler(exc: Exception, context: dict) -> Response:
    request = context.get("request")
    request_id = getattr(request, "request_id", "") if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DomainError):
        code, message, details = exc.code, exc.message, exc.details
        http = status_for(code)
    elif isinstance(exc, exceptions.ValidationError):
        code, message, details = "VALIDATION_FAILED", "the request has invalid fields", _validation_details(exc.detail)
        http = 400
    elif isinstance(exc, exceptions.APIException):
        response = drf_default(exc, context)  # keeps WWW-Authenticate, Retry-After, Allow
        if response is not None:
            headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
        code, fallback = next(
            ((c, m) for cls, (c, m) in _DRF_CODES.items() if isinstance(exc, cls)),
            (str(exc.default_code).upper(), None),
        )
        message, details, http = fallback or str(exc.detail), {}, exc.status_code
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait)}
    else:
        log.exception("unexpected error in API view (request %s)", request_id)
        code, message, details, http = "INTERNAL_ERROR", "internal error; quote the request id", {}, 500
    if http == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return Response(envelope(code, message, details, request_id), status=http, headers=headers)
