"""Writing audit records: ``record`` for tasks and commands, ``record_request`` for HTTP entry points."""

from __future__ import annotations

import json

from django.http import HttpRequest
from django.utils import timezone

from controlplane.audit.models import AuditRecord


def record(
    *,
    action: str,
    resource_type: str,
    result: str,
    actor_kind: str,
    actor_id: str = "",
    resource_id: str = "",
    tenant_id: str | None = "",
    workspace_id: str | None = "",
    error_code: str = "",
    request_id: str = "",
    client_address: str = "",
    user_agent: str = "",
    details: dict | None = None,
) -> AuditRecord:
    """Insert one audit record. Call it after the write's own transaction has ended (committed or rolled
    back), as the API layer does, so that a failed write is still on the trail."""
    if result not in ("ok", "denied", "failed"):
        raise ValueError(f"audit result must be ok, denied or failed, not {result!r}")
    row = AuditRecord(
        occurred_at=timezone.now(),
        tenant_id=tenant_id or "",
        workspace_id=workspace_id or "",
        actor_kind=actor_kind,
        actor_id=actor_id[:150],
        client_address=client_address[:64],
        user_agent=user_agent[:300],
        request_id=request_id[:64],
        resource_type=resource_type[:64],
        resource_id=str(resource_id)[:150],
        action=action[:64],
        result=result,
        error_code=error_code[:64],
        details=json.dumps(details or {}, sort_keys=True, default=str),
    )
    row.save()
    return row


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def request_actor(request: HttpRequest) -> tuple[str, str]:
    """(kind, id) of whoever made the request: a token, a user, or anonymous."""
    token = getattr(request, "api_token", None)
    if token is not None:
        return "token", token.id
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return "user", user.get_username()
    return "anonymous", ""


def record_request(
    request: HttpRequest,
    *,
    action: str,
    resource_type: str,
    result: str,
    resource_id: str = "",
    tenant_id: str | None = "",
    workspace_id: str | None = "",
    error_code: str = "",
    details: dict | None = None,
    actor: tuple[str, str] | None = None,
) -> AuditRecord:
    kind, actor_id = actor or request_actor(request)
    return record(
        action=action,
        resource_type=resource_type,
        result=result,
        actor_kind=kind,
        actor_id=actor_id,
        resource_id=resource_id,
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        error_code=error_code,
        request_id=getattr(request, "request_id", ""),
        client_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        details=details,
    )


def command_actor(command: str) -> str:
    """Who ran a management command: the OS user, as far as the process knows."""
    import getpass

    try:
        return f"{getpass.getuser()}@manage.py {command}"[:150]
    except (KeyError, OSError):
        return f"manage.py {command}"


def record_command(command: str, *, resource_type: str, result: str, error_code: str = "", details=None) -> None:
    """The audit record of a management command that writes (rebuild, rotation, seeding)."""
    record(
        action=f"command.{command}",
        resource_type=resource_type,
        result=result,
        actor_kind="system",
        actor_id=command_actor(command),
        error_code=error_code,
        details=details,
    )
