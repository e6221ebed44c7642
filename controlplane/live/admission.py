"""Who is connecting, and may they follow this topic? Decided before a websocket joins anything.

Credentials, in this order:
1. A bearer credential offered as a subprotocol, ``bearer.<token>`` beside ``controlplane.live.v1`` (the
   way a browser can send one: it cannot set headers on a websocket); or an ``Authorization: Bearer``
   header (other clients). Either a personal API token (``stcp_…``) or a JWT access token, checked exactly
   as the API checks them. Never in the query string: query strings end up in access logs, proxy logs and
   browser history.
2. Else the Django session cookie (the console), honoured only when the ``Origin`` is the site itself or a
   ``CONTROLPLANE_CSRF_TRUSTED_ORIGINS`` entry: a cookie rides along on cross-site websocket requests, so
   without that check any page could read a logged-in operator's feed.

Objects are authorized with ``iam.access`` and the same permission points that guard reading them over
the API. An unknown object, or one in a tenant the caller cannot see (or that the API token is not for: a
tenant token reaches only its tenant, a platform token none), is refused as not found; a visible one
without the permission as forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from channels.auth import get_user
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from controlplane.api.auth import LoginJWTAuthentication
from controlplane.audit import recorder
from controlplane.iam import access, tokens
from controlplane.iam.models import ApiToken
from controlplane.live import topics
from controlplane.live.topics import Grants, Topic
from controlplane.tenancy.models import Tenant, Workspace

PROTOCOL = "controlplane.live.v1"
BEARER_PROTOCOL_PREFIX = "bearer."

# Close codes (docs/LIVE.md). 4xxx mirror the HTTP status a request for the same thing would get.
BAD_REQUEST = 4400  # a malformed ?after=, or one beyond the end of the log
UNAUTHENTICATED = 4401  # no credential, a bad one, or the JWT expired while connected
FORBIDDEN = 4403  # authenticated and the object is visible, but the permission is not held
NOT_FOUND = 4404  # no such object, or one the caller may not know of (another tenant's)
LAGGING = 4408  # the client read too slowly; reconnect with ?after=<last position>
TRY_AGAIN_LATER = 1013  # the event log cannot be read now (the tailer could not start); reconnect later
SLUG_IN_AUDIT = 50  # characters of a slug that names no tenant kept on the platform trail (slugs are 1..50)


class Refused(Exception):
    """A socket refused with a close code. ``aim`` is the trail that records the refusal (``audit_refusal``): the
    tenant (and workspace) of the object asked for, or the platform trail ("") with the slug tried; None for
    refusals that are not recorded (no or a bad credential, a malformed request, an id that exists nowhere)."""

    def __init__(
        self,
        code: int,
        reason: str,
        *,
        aim: tuple[str, str] | None = None,
        tried: dict[str, str] | None = None,
        error_code: str = "",
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.aim = aim
        self.tried = tried or {}
        self.error_code = error_code or ("PERMISSION_DENIED" if code == FORBIDDEN else "NOT_FOUND")


@dataclass(frozen=True)
class Principal:
    user: AbstractBaseUser
    token: ApiToken | None = None  # an API token is scoped to one tenant
    expires_at: float | None = None  # a JWT's expiry (epoch seconds): the socket closes then


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def bearer(scope: dict[str, Any]) -> str | None:
    for offered in scope.get("subprotocols", []) or []:
        if offered.startswith(BEARER_PROTOCOL_PREFIX) and len(offered) > len(BEARER_PROTOCOL_PREFIX):
            return offered[len(BEARER_PROTOCOL_PREFIX) :]
    header = _headers(scope).get(b"authorization", b"").decode("latin1").split()
    if len(header) == 2 and header[0] == "Bearer":
        return header[1]
    return None


def same_origin(scope: dict[str, Any]) -> bool:
    headers = _headers(scope)
    origin = headers.get(b"origin", b"").decode("latin1")
    host = headers.get(b"host", b"").decode("latin1")
    if not origin:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parsed = urlsplit(origin)
    return parsed.scheme in ("http", "https") and bool(host) and parsed.netloc == host


def authenticate(scope: dict[str, Any]) -> Principal:
    """The principal of the handshake, or Refused(UNAUTHENTICATED). Runs on a database thread."""
    raw = bearer(scope)
    if raw is not None:
        if tokens.looks_like_token(raw):
            try:
                token = tokens.authenticate(raw)
            except tokens.TokenInvalid as exc:
                raise Refused(UNAUTHENTICATED, exc.message) from None
            access.bind_token(token.user, token)
            return Principal(user=token.user, token=token)
        jwt = LoginJWTAuthentication()
        try:
            validated = jwt.get_validated_token(raw.encode())
            user = jwt.get_user(validated)
        except (InvalidToken, TokenError, AuthenticationFailed):
            raise Refused(UNAUTHENTICATED, "invalid or expired access token") from None
        if not user.is_active:
            raise Refused(UNAUTHENTICATED, "the user is disabled")
        return Principal(user=user, expires_at=float(validated["exp"]))
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        raise Refused(UNAUTHENTICATED, "log in or pass a bearer token")
    if not same_origin(scope):
        raise Refused(UNAUTHENTICATED, "a session is honoured only from the site's own origin")
    return Principal(user=user)


async def session_user(scope: dict[str, Any]) -> AbstractBaseUser | None:
    """The session's user as the database has it now (None after a logout, a password change or a disabling)."""
    session = scope.get("session")
    key = getattr(session, "session_key", None) if session is not None else None
    if not key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = await get_user({"session": store})
    return user if user.is_authenticated and user.is_active else None


def _visible_tenant(principal: Principal, tenant: Tenant | None, workspace_id: str = "") -> Tenant:
    if tenant is None:
        raise Refused(NOT_FOUND, "not found")
    if not access.visible(principal.user, tenant) or (
        principal.token is not None and principal.token.tenant_id != tenant.id
    ):
        raise Refused(NOT_FOUND, "not found", aim=(tenant.id, workspace_id))
    return tenant


def _require(
    principal: Principal,
    point: str,
    tenant: Tenant,
    workspace_id: str | None,
    on: tuple[str, Model] | None = None,
) -> None:
    """``on``: (kind, the object followed): a role on that object (or on what it belongs to) counts, and to a caller
    who holds the point only on some objects of that kind here any other is not found, as over HTTP (ADR 0019)."""
    workspace = Workspace.objects.filter(id=workspace_id, tenant=tenant).first() if workspace_id else None
    aim = (tenant.id, workspace_id or "")
    try:
        if on is None:
            access.require(principal.user, point, tenant, workspace)
        elif access.require_here_or_on_objects(principal.user, point, tenant, workspace, on[0]) and not access.has(
            principal.user, point, tenant, workspace, on[1]
        ):
            raise Refused(NOT_FOUND, "not found", aim=aim)
    except access.NotVisible:
        # a workspace the caller holds no role on: answered like a made-up one, recorded in its tenant's trail
        raise Refused(NOT_FOUND, "not found", aim=aim, error_code="NOT_FOUND") from None
    except (access.AccessDenied, access.TenantDisabled) as exc:
        raise Refused(FORBIDDEN, exc.message, aim=aim, error_code=exc.code) from None


def audit_refusal(scope: dict[str, Any], principal: Principal, refusal: Refused, resource_type: str) -> None:
    """One audit record (``live.connect``, denied) for a socket refused for what it asked for, in the trail of
    the tenant it aimed at, like a refused API read. Refusals without an ``aim`` are not recorded."""
    if refusal.aim is None:
        return
    token = principal.token
    route = scope.get("url_route", {}).get("kwargs", {})
    client = scope.get("client") or [""]
    recorder.record(
        action="live.connect",
        resource_type=resource_type,
        resource_id=str(next(iter(route.values()), "")),
        result="denied",
        actor_kind="token" if token is not None else "user",
        actor_id=token.id if token is not None else principal.user.get_username(),
        tenant_id=refusal.aim[0],
        workspace_id=refusal.aim[1],
        error_code=refusal.error_code,
        client_address=str(client[0] or ""),
        user_agent=_headers(scope).get(b"user-agent", b"").decode("latin1"),
        details=refusal.tried or None,
    )


def run_topic(principal: Principal, run_id: str) -> Topic:
    """A run, guarded like ``GET …/runs/<id>/`` (job.read, on the tenant, its workspace or the run's job)."""
    from controlplane.jobs.selectors import run_for_system

    run = run_for_system(run_id)
    if run is None:
        raise Refused(NOT_FOUND, "not found")
    tenant = _visible_tenant(principal, Tenant.objects.filter(id=run.tenant_id).first(), run.workspace_id)
    _require(principal, "job.read", tenant, run.workspace_id, on=("job", run))
    return topics.run_topic(run.id, tenant.id)


def activity_topic(principal: Principal, slug: str) -> Topic:
    """A tenant's activity: each event shown only to holders of its context's read point (topics.py)."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:  # a slug no tenant has: the platform trail records what was tried
        raise Refused(NOT_FOUND, "not found", aim=("", ""), tried={"tenant_slug": slug[:SLUG_IN_AUDIT]})
    tenant = _visible_tenant(principal, tenant)
    user = principal.user
    if tenant.disabled and not access.is_platform_admin(user):
        raise Refused(FORBIDDEN, "this tenant is disabled", aim=(tenant.id, ""), error_code="TENANT_DISABLED")
    points = sorted(set(topics.ACTIVITY_POINTS.values()))
    grants = Grants(
        tenant_wide=frozenset(p for p in points if access.has(user, p, tenant)),
        by_workspace={
            ws.id: frozenset(p for p in points if access.has(user, p, tenant, ws))
            for ws in Workspace.objects.filter(tenant=tenant)
        },
    )
    if grants.empty:
        raise Refused(FORBIDDEN, "you hold no read permission in this tenant", aim=(tenant.id, ""))
    return topics.ActivityTopic(tenant.id, tenant.slug, grants)


def operation_topic(principal: Principal, operation_id: str) -> Topic:
    """An operation, guarded like ``GET …/operations/<id>/`` (operation.read, here or on its cluster)."""
    if not apps.is_installed("controlplane.operations"):
        raise Refused(NOT_FOUND, "not found")
    from controlplane.operations.actions import operation_stream
    from controlplane.operations.selectors import operation_row_for_system

    operation = operation_row_for_system(operation_id)
    if operation is None:
        raise Refused(NOT_FOUND, "not found")
    tenant = _visible_tenant(principal, Tenant.objects.filter(id=operation.tenant_id).first(), operation.workspace_id)
    _require(principal, "operation.read", tenant, operation.workspace_id, on=("cluster", operation))
    return topics.OperationTopic(operation.id, tenant.id, operation_stream(operation.id).id)
