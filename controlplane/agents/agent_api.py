"""``/agent/v1/``: the API node agents call (docs/AGENT_PROTOCOL.md). Authenticated by ``Authorization: Agent
<credential>``, never by a session or a user token. Plain Django views: this surface has its own small error
map (401 for credential problems) and none of DRF's content negotiation. The long poll
(``actions/next``) is not here: it is an ASGI app of its own (``longpoll.py``) so it holds no thread while it
waits."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from controlplane.agents import actions, filestore, selectors
from controlplane.api import limits
from controlplane.api.limits import RequestTooLarge
from controlplane.audit.recorder import record
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import ratelimit

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 2 * 1024 * 1024

# Agent-facing statuses: every credential problem is a 401 the agent can act on.
STATUS = {
    "AGENT_BOOTSTRAP_TOKEN_INVALID": 401,
    "AGENT_CREDENTIAL_INVALID": 401,
    "AGENT_REVOKED": 401,
    "TENANT_DISABLED": 403,  # the agent keeps its credential and backs off until the tenant is enabled
    "AGENT_ACTION_NOT_FOUND": 404,
    "AGENT_FILE_NOT_FOUND": 404,
    "AGENT_ACTION_TRANSITION_ILLEGAL": 409,
    "AGENT_ARTIFACT_TOO_LARGE": 413,
    "REQUEST_TOO_LARGE": 413,
    "METHOD_NOT_ALLOWED": 405,
}


def error_body(code: str, message: str, *, field: str | None = None, request_id: str = "") -> dict[str, Any]:
    """The usual envelope of the API (``error``), with code, message and field repeated at the top level as
    docs/AGENT_PROTOCOL.md names them."""
    details = {"field": field} if field else {}
    return {
        "error": {"code": code, "message": message, "details": details, "request_id": request_id},
        "code": code,
        "message": message,
        "field": field,
    }


def error_response(exc: DomainError, request_id: str = "") -> JsonResponse:
    field = exc.details.get("field") if isinstance(exc.details.get("field"), str) else None
    status = STATUS.get(exc.code, 404 if exc.code.endswith("_NOT_FOUND") else 400)
    response = JsonResponse(error_body(exc.code, exc.message, field=field, request_id=request_id), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Agent realm="agent"'
    return response


def credential_of(header: str) -> str:
    scheme, _, credential = header.strip().partition(" ")
    if scheme != "Agent" or not credential.strip():
        raise selectors.AgentAuthError("send Authorization: Agent <credential>")
    return credential.strip()


def _request_id(request: HttpRequest) -> str:
    return getattr(request, "request_id", "")


def parse_json(raw: bytes) -> dict[str, Any]:
    """One JSON object within the API's limits (controlplane/api/limits.py); the agent API's own code otherwise."""
    if len(raw) > MAX_JSON_BYTES:
        raise RequestTooLarge(f"the request body is larger than {MAX_JSON_BYTES} bytes", limit=MAX_JSON_BYTES)
    try:
        return limits.parse_json_object(raw)
    except limits.MalformedRequest as exc:
        raise DomainError(exc.message, code="AGENT_REQUEST_INVALID") from None


def _json(request: HttpRequest) -> dict[str, Any]:
    return parse_json(request.body)


def _str(body: dict, name: str, default: str = "", *, limit: int = 10_000) -> str:
    value = body.get(name, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise DomainError(f"{name} is a string", code="AGENT_REQUEST_INVALID", field=name)
    return value[:limit]


def _int(body: dict, name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise DomainError(f"{name} is required", code="AGENT_REQUEST_INVALID", field=name)
        return None
    if type(value) is not int:
        raise DomainError(f"{name} is an integer", code="AGENT_REQUEST_INVALID", field=name)
    return value


def _metadata(request: HttpRequest, agent: selectors.AuthenticatedAgent) -> Metadata:
    return agent.metadata(_request_id(request), request.META.get("REMOTE_ADDR", ""))


def agent_endpoint(methods: list[str]):  # type: ignore[no-untyped-def]
    """Authenticate the agent (its credential names it), run the view, map domain errors to the agent error
    body."""

    def wrap(view):  # type: ignore[no-untyped-def]
        @csrf_exempt
        @require_http_methods(methods)
        def inner(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                credential = credential_of(request.headers.get("Authorization", ""))
                agent = selectors.authenticated_agent_for_system(credential)
                return view(request, agent, **kwargs)
            except DomainError as exc:
                return error_response(exc, _request_id(request))

        inner.__name__ = view.__name__
        return inner

    return wrap


def _audit(request: HttpRequest, agent_id: str, tenant_id: str, workspace_id: str, **kwargs: Any) -> None:
    record(
        actor_kind="agent" if agent_id else "anonymous",  # a refused registration has no agent yet
        actor_id=agent_id,
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        request_id=_request_id(request),
        client_address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        **kwargs,
    )


@csrf_exempt
@require_http_methods(["POST"])
def register(request: HttpRequest) -> HttpResponse:
    # Enrolment is limited per address (heartbeats and polls are not: thousands of agents make them).
    wait = ratelimit.hit("enrolment", request.META.get("REMOTE_ADDR", ""), settings.CONTROLPLANE_RATE_LIMIT_ENROLMENT)
    if wait:
        response = JsonResponse(
            error_body("RATE_LIMITED", "too many registrations from this address", request_id=_request_id(request)),
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    try:
        body = _json(request)
        allowlist = body.get("allowlist", [])
        facts = body.get("facts", {})
        if not isinstance(allowlist, list) or not isinstance(facts, dict):
            raise DomainError("allowlist is a list and facts an object", code="AGENT_REQUEST_INVALID")
        done = actions.do_register_agent(
            bootstrap_token=_str(body, "bootstrap_token", limit=200),
            hostname=_str(body, "hostname", limit=300),
            agent_version=_str(body, "agent_version", limit=64),
            member_address=_str(body, "member_address", limit=300),
            allowlist=allowlist,
            facts=facts,
            request_id=_request_id(request),
            client_address=request.META.get("REMOTE_ADDR", ""),
        )
    except DomainError as exc:
        _audit(
            request,
            "",
            "",
            "",
            action="agent.register",
            resource_type="agent",
            result="denied" if exc.code == "AGENT_BOOTSTRAP_TOKEN_INVALID" else "failed",
            error_code=exc.code,
        )
        return error_response(exc, _request_id(request))
    _audit(
        request,
        done.agent_id,
        done.tenant_id,
        done.workspace_id,
        action="agent.register",
        resource_type="agent",
        resource_id=done.agent_id,
        result="ok",
    )
    from controlplane.agents.signing import public_key_info

    return JsonResponse(
        {
            "agent_id": done.agent_id,
            "credential": done.credential,
            "signing_key": public_key_info(),
            "heartbeat_interval_seconds": actions.heartbeat_interval(),
            "poll_timeout_seconds": actions.poll_timeout(),
        },
        status=201,
    )


def record_heartbeat(authorization: str, raw: bytes, request_id: str) -> dict[str, Any]:
    """The whole heartbeat, from the header and body to the answer: shared by the Django view and the ASGI
    fast path in ``longpoll.py`` (which runs it in one hop on the shared executor)."""
    agent = selectors.authenticated_agent_for_system(credential_of(authorization))
    body = parse_json(raw)
    facts = body.get("facts", {})
    if not isinstance(facts, dict):
        raise DomainError("facts is an object", code="AGENT_REQUEST_INVALID", field="facts")
    actions.do_record_heartbeat(
        metadata=agent.metadata(request_id), agent=agent, sent_at=_str(body, "sent_at", limit=40), facts=facts
    )
    return {
        "server_time": timezone.now().isoformat().replace("+00:00", "Z"),
        "heartbeat_interval_seconds": actions.heartbeat_interval(),
    }


@csrf_exempt
@require_http_methods(["POST"])
def heartbeat(request: HttpRequest) -> HttpResponse:
    """The heartbeat through Django (tests, WSGI); under daphne ``longpoll.with_agent_paths`` answers it."""
    try:
        return JsonResponse(
            record_heartbeat(request.headers.get("Authorization", ""), request.body, _request_id(request))
        )
    except DomainError as exc:
        return error_response(exc, _request_id(request))


@agent_endpoint(["POST"])
def progress(request: HttpRequest, agent: selectors.AuthenticatedAgent, action_id: str) -> HttpResponse:
    body = _json(request)
    percent = _int(body, "percent")
    if percent is not None and not 0 <= percent <= 100:
        raise DomainError("percent is 0..100", code="AGENT_REQUEST_INVALID", field="percent")
    cancel = actions.do_record_progress(
        metadata=_metadata(request, agent),
        agent_id=agent.id,
        action_id=action_id,
        seq=_int(body, "seq", required=True) or 0,
        percent=percent,
        message=_str(body, "message", limit=500),
        output=_str(body, "output", limit=actions.MAX_OUTPUT_CHUNK),
    )
    return JsonResponse({"cancel": cancel})


@agent_endpoint(["POST"])
def result(request: HttpRequest, agent: selectors.AuthenticatedAgent, action_id: str) -> HttpResponse:
    body = _json(request)
    error = body.get("error") or {}
    data = body.get("data") or {}
    if not isinstance(error, dict) or not isinstance(data, dict):
        raise DomainError("error and data are objects", code="AGENT_REQUEST_INVALID")
    # The result and its audit record commit together: nobody reads the one without the other.
    with transaction.atomic():
        state = actions.do_record_result(
            metadata=_metadata(request, agent),
            agent_id=agent.id,
            action_id=action_id,
            status=_str(body, "status", limit=20),
            exit_code=_int(body, "exit_code"),
            data=data,
            output_tail=_str(body, "output_tail", limit=100_000),
            error_code=_str(error, "code", limit=64),
            error_message=_str(error, "message", limit=2000),
            started_at=_str(body, "started_at", limit=40),
            finished_at=_str(body, "finished_at", limit=40),
        )
        _audit(
            request,
            agent.id,
            agent.tenant_id,
            agent.workspace_id,
            action="agent_action.result",
            resource_type="agent_action",
            resource_id=action_id,
            result="ok",
            details={"state": state},
        )
    return JsonResponse({"action_id": action_id, "state": state})


@agent_endpoint(["POST"])
def refusal(request: HttpRequest, agent: selectors.AuthenticatedAgent, action_id: str) -> HttpResponse:
    body = _json(request)
    code = _str(body, "code", limit=64) or "AGENT_REFUSED"
    with transaction.atomic():  # the refusal and its audit record together, as for a result
        state = actions.do_record_refusal(
            metadata=_metadata(request, agent),
            agent_id=agent.id,
            action_id=action_id,
            code=code,
            message=_str(body, "message", limit=2000),
        )
        # The refusal is the agent saying no: on the trail as a denied action, with the agent's code.
        _audit(
            request,
            agent.id,
            agent.tenant_id,
            agent.workspace_id,
            action="agent_action.refused",
            resource_type="agent_action",
            resource_id=action_id,
            result="denied",
            error_code=code,
            details={"message": _str(body, "message", limit=500), "state": state},
        )
    return JsonResponse({"action_id": action_id, "state": state})


@agent_endpoint(["PUT"])
def artifact(request: HttpRequest, agent: selectors.AuthenticatedAgent, action_id: str) -> HttpResponse:
    expected = request.headers.get("X-Content-SHA256", "").strip().lower()
    if not filestore.SHA256.match(expected):
        raise DomainError("X-Content-SHA256 is the hex SHA-256 of the body", code="AGENT_REQUEST_INVALID")
    size = actions.do_store_artifact(
        metadata=_metadata(request, agent), agent_id=agent.id, action_id=action_id, sha256=expected, read=request.read
    )
    _audit(
        request,
        agent.id,
        agent.tenant_id,
        agent.workspace_id,
        action="agent_action.artifact",
        resource_type="agent_action",
        resource_id=action_id,
        result="ok",
        details={"sha256": expected, "size": size},
    )
    return JsonResponse({"sha256": expected, "size": size}, status=201)


@agent_endpoint(["GET"])
def file(request: HttpRequest, agent: selectors.AuthenticatedAgent, sha256: str) -> HttpResponse:
    """A file the control plane publishes for agents (a connector jar), by its hash (DATA_DIR/files/)."""
    target = filestore.published_file(sha256)
    if target is None:
        raise DomainError("no such file", code="AGENT_FILE_NOT_FOUND")
    response = FileResponse(target.open("rb"), content_type="application/octet-stream")
    response["X-Content-SHA256"] = sha256
    return response


urlpatterns = [
    path("register", register, name="agent-register"),
    path("heartbeat", heartbeat, name="agent-heartbeat"),
    path("actions/<str:action_id>/progress", progress, name="agent-action-progress"),
    path("actions/<str:action_id>/result", result, name="agent-action-result"),
    path("actions/<str:action_id>/refusal", refusal, name="agent-action-refusal"),
    path("actions/<str:action_id>/artifact", artifact, name="agent-action-artifact"),
    path("files/<str:sha256>", file, name="agent-file"),
]
