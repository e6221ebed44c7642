"""Writers of iam: role grants (memberships, and roles on one object as guardian object permissions), API
tokens, API logins (token families), users and invitations.

Every writer takes ``metadata`` (who acts, with the live credential as ``principal``) and authorizes it first
through ``iam.access.authorize*``, fail closed (ADR 0018); the control plane acting on its own (management
commands, the demo seed, test set-up) passes ``Metadata.for_system(..., reason=...)``. The invariants (a tenant
keeps an owner, a platform token belongs to a platform administrator) hold for every caller. API writes are audited
by the API base (one record per request); the writers called outside it (login, refresh) record themselves.
Not event-sourced (ADR 0001): django-auditlog keeps the field-level history of these tables.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from guardian.models import UserObjectPermission
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.audit.recorder import record
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access, sessions, throttle
from controlplane.iam.models import ApiToken, Invitation, LoginSession, Membership
from controlplane.iam.permissions import OBJECT_CODENAMES, OBJECT_MODELS, OBJECT_ROLES, ROLES, object_codename
from controlplane.iam.selectors import object_place_for_system
from controlplane.iam.tokens import INVITATION_PREFIX, digest, generate
from controlplane.tenancy.models import Tenant, Workspace


class IamError(DomainError):
    code = "IAM_ERROR"


@dataclass(frozen=True)
class Caller:
    """Where an unauthenticated request (login, refresh) came from, for the audit trail."""

    address: str = ""
    user_agent: str = ""
    request_id: str = ""


def caller_of(request: HttpRequest) -> Caller:
    return Caller(
        address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=getattr(request, "request_id", ""),
    )


def _audit(caller: Caller, *, action: str, result: str, actor: str, error_code: str = "", **details: object) -> None:
    record(
        action=action,
        resource_type="session",
        result=result,
        actor_kind="user" if result == "ok" else "anonymous",  # a refused caller is not known to be the user
        actor_id=actor,
        resource_id=str(details.pop("session", "")),
        error_code=error_code,
        request_id=caller.request_id,
        client_address=caller.address,
        user_agent=caller.user_agent,
        details=details or None,
    )


# --- role grants -------------------------------------------------------------------------------------------


def _by(metadata: Metadata) -> str:
    """Who granted, as shown beside a grant: the signed-in user's name, or the system's reason."""
    principal = metadata.principal
    if metadata.actor.kind != "system" and isinstance(principal, AbstractBaseUser):
        return principal.get_username()[:150]
    return metadata.actor.id[:150]


def _check_place(tenant: Tenant, workspace: Workspace | None) -> None:
    if workspace is not None and workspace.tenant_id != tenant.id:
        raise IamError("the workspace is not in this tenant", code="WORKSPACE_NOT_FOUND")


def _keep_an_owner(membership: Membership) -> None:
    """A tenant always keeps at least one owner on the whole tenant: its last one cannot leave or step down."""
    if membership.scope or membership.role != "owner":
        return
    owners = Membership.objects.select_for_update().filter(tenant_id=membership.tenant_id, scope="", role="owner")
    if not owners.exclude(pk=membership.pk).exists():
        raise IamError("a tenant keeps at least one owner: make someone else owner first", code="TENANT_LAST_OWNER")


def do_grant_role(
    *, metadata: Metadata, user: AbstractBaseUser, tenant: Tenant, role: str, workspace: Workspace | None = None
) -> Membership:
    """Give ``user`` the role on the tenant (or one workspace); replaces a role held at the same place. The
    membership row is the whole grant: access derives the points from its role (ADR 0019)."""
    access.authorize(metadata, "member.manage", tenant_id=tenant.id)
    if role not in ROLES:
        raise IamError(f"unknown role {role!r}; roles are {', '.join(ROLES)}", code="ROLE_INVALID", field="role")
    _check_place(tenant, workspace)
    scope = workspace.id if workspace is not None else ""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(user=user, tenant=tenant, scope=scope).first()
        if membership is not None:
            if role != "owner":
                _keep_an_owner(membership)
            membership.role = role
            membership.granted_by = _by(metadata)
            membership.version += 1
            membership.save()
        else:
            membership = Membership.objects.create(
                user=user, tenant=tenant, workspace=workspace, scope=scope, role=role, granted_by=_by(metadata)
            )
    access.forget(user)
    return membership


def do_revoke_role(*, metadata: Metadata, membership: Membership) -> None:
    access.authorize(metadata, "member.manage", tenant_id=membership.tenant_id)
    with transaction.atomic():
        _keep_an_owner(membership)
        membership.delete()
    access.forget(membership.user)


# --- roles on one object (django-guardian) ----------------------------------------------------------------------


def _object_permission(kind: str, role: str) -> Permission:
    """The guardian permission of a role on one object of ``kind``: a catalogue row on that model's content type,
    made on first use (the model's app declares nothing: iam names the roles, ADR 0019)."""
    content_type = ContentType.objects.get_for_model(apps.get_model(OBJECT_MODELS[kind]))
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=object_codename(kind, role), defaults={"name": f"{role} on one {kind}"}
    )
    return permission


def do_grant_object_role(
    *, metadata: Metadata, user: AbstractBaseUser, tenant: Tenant, kind: str, object_id: str, role: str
) -> UserObjectPermission:
    """Give ``user`` a role on one cluster or job of the tenant (one guardian row, the whole grant); replaces a role
    the user holds on that object."""
    access.authorize(metadata, "member.manage", tenant_id=tenant.id)
    if kind not in OBJECT_ROLES:
        raise IamError(
            f"roles are granted on one {' or '.join(OBJECT_ROLES)}", code="OBJECT_KIND_INVALID", field="kind"
        )
    if role not in OBJECT_ROLES[kind]:
        roles = ", ".join(OBJECT_ROLES[kind])
        raise IamError(f"unknown role {role!r} on a {kind}; roles are {roles}", code="ROLE_INVALID", field="role")
    place = object_place_for_system(kind, object_id)
    if place is None or place[0] != tenant.id:
        raise IamError(f"no such {kind} in this tenant", code="OBJECT_NOT_FOUND", field="object")
    permission = _object_permission(kind, role)
    with transaction.atomic():
        held = (
            UserObjectPermission.objects.select_for_update()
            .filter(user_id=user.pk, content_type=permission.content_type, object_pk=object_id)
            .filter(permission__codename__in=[object_codename(kind, r) for r in OBJECT_ROLES[kind]])
            .first()
        )
        if held is None:
            held = UserObjectPermission.objects.create(
                user=user, permission=permission, content_type=permission.content_type, object_pk=object_id
            )
        elif held.permission_id != permission.id:
            held.permission = permission
            held.save(update_fields=["permission"])
    access.forget(user)
    return held


def do_revoke_object_role(*, metadata: Metadata, tenant: Tenant, grant: UserObjectPermission) -> None:
    kind, _ = OBJECT_CODENAMES.get(grant.permission.codename, ("", ""))
    place = object_place_for_system(kind, grant.object_pk) if kind else None
    if place is None or place[0] != tenant.id:
        raise access.NotVisible()
    access.authorize(metadata, "member.manage", tenant_id=tenant.id)
    grant.delete()
    access.forget(grant.user)


# --- personal API tokens -------------------------------------------------------------------------------------


def _token_owner(metadata: Metadata, user: AbstractBaseUser | None) -> AbstractBaseUser:
    """A token is its maker's own: a user acting makes theirs; the control plane names whose it makes."""
    if metadata.actor.kind == "system":
        if user is None:
            raise IamError("a token needs an owner", code="TOKEN_OWNER_MISSING")
        return user
    principal = metadata.principal
    if user is not None and user.pk != getattr(principal, "pk", None):
        raise access.AccessDenied("a token is made by its owner only", permission="tenant.read")
    return principal


def do_create_api_token(
    *,
    metadata: Metadata,
    tenant: Tenant | None,
    name: str,
    user: AbstractBaseUser | None = None,
    expires_at: datetime | None = None,
    kind: str = "tenant",
) -> tuple[ApiToken, str]:
    """Create a personal token of the acting user (or, for the system, of ``user``); the plaintext is returned
    here once and never stored. ``kind="platform"`` (no tenant) only for a platform administrator."""
    if kind == "platform":
        if tenant is not None:
            raise IamError("a platform token is bound to no tenant", code="TOKEN_KIND_INVALID", field="kind")
        access.authorize_platform(metadata, "create platform tokens")
        owner = _token_owner(metadata, user)
        if not owner.is_superuser:
            raise IamError("only a platform administrator holds a platform token", code="TOKEN_KIND_INVALID")
    elif kind == "tenant":
        if tenant is None:
            raise IamError("a tenant token names its tenant", code="TOKEN_KIND_INVALID", field="tenant")
        access.authorize(metadata, "tenant.read", tenant_id=tenant.id)
        owner = _token_owner(metadata, user)
    else:
        raise IamError("kind is tenant or platform", code="TOKEN_KIND_INVALID", field="kind")
    name = name.strip()
    if not name or len(name) > 100:
        raise IamError("token name must be 1..100 characters", code="TOKEN_NAME_INVALID", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise IamError("expiry must be in the future", code="TOKEN_EXPIRY_INVALID", field="expires_at")
    plaintext, prefix, key_hash = generate()
    token = ApiToken.objects.create(
        id=uuid.uuid4().hex,
        user=owner,
        kind=kind,
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        expires_at=expires_at,
    )
    return token, plaintext


def do_revoke_api_token(*, metadata: Metadata, token: ApiToken) -> None:
    """Revoke one's own token (the control plane: any). Another's is not even confirmed to exist."""
    if token.kind == "platform":
        access.authorize_platform(metadata, "revoke platform tokens")
    else:
        access.authorize(metadata, "tenant.read", tenant_id=token.tenant_id)
    if metadata.actor.kind != "system" and token.user_id != getattr(metadata.principal, "pk", None):
        raise access.NotVisible()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.version += 1
        token.save(update_fields=["revoked_at", "version"])


# --- API logins (token families) -----------------------------------------------------------------------------


class LoginThrottled(DomainError):
    """This (name, address) pair must wait ``retry_after_seconds`` before its next attempt is checked."""

    code = "LOGIN_THROTTLED"


def do_log_in(*, request: HttpRequest, username: str, password: str) -> RefreshToken:
    """A password login through the API: throttled per (name, address), checked by the authentication
    backends, and on success a new login session (token family). Failures are audited and counted by the
    ``user_login_failed`` signal (``iam.signals``); throttled attempts and successes here."""
    caller = caller_of(request)
    wait = throttle.retry_after(username, caller.address)
    if wait > 0:
        _audit(caller, action="auth.login", result="denied", actor=username, error_code="LOGIN_THROTTLED")
        raise LoginThrottled(
            "too many failed logins for this name from this address; try again later", retry_after_seconds=wait
        )
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise IamError("no active account with these credentials", code="AUTH_FAILED")
    now = timezone.now()
    session = LoginSession(
        id=uuid.uuid4().hex,
        user=user,
        created_at=now,
        last_used_at=now,
        client_address=caller.address[:64],
        user_agent=caller.user_agent[:300],
    )
    refresh = sessions.mint(session, user)
    session.save()
    throttle.clear(user.get_username(), caller.address)
    _audit(caller, action="auth.login", result="ok", actor=user.get_username(), session=session.id)
    return refresh


def _refresh_refused(caller: Caller, message: str, actor: str = "", code: str = "AUTH_TOKEN_INVALID", **details):  # type: ignore[no-untyped-def]
    """Audit a refused refresh (outside the refresh's transaction, so a rollback keeps the record) and
    return the error to raise."""
    _audit(caller, action="auth.refresh", result="denied", actor=actor, error_code=code, **details)
    return sessions.SessionInvalid(message)


def do_refresh_login(*, raw: str, caller: Caller) -> RefreshToken:
    """Rotate the newest refresh token of a login. An older one of the family is reuse: the whole family is
    revoked (its refresh and access tokens), audited as AUTH_REFRESH_REUSED, and the answer is a refusal."""
    try:
        token = RefreshToken(raw)
    except TokenError:
        raise _refresh_refused(caller, "invalid or expired refresh token") from None
    sid = token.get(sessions.SID)
    if sid is None:
        raise _refresh_refused(caller, "this refresh token predates login sessions; log in again")
    refusal: tuple[str, str, str] | None = None
    with transaction.atomic():
        session = LoginSession.objects.select_for_update().select_related("user").filter(id=str(sid)).first()
        if session is None or str(session.user_id) != str(token.get("user_id")):
            refusal = ("unknown login", "", "AUTH_TOKEN_INVALID")
        elif not sessions.live(session) or not session.user.is_active:
            refusal = ("this login has ended; log in again", session.user.get_username(), "AUTH_TOKEN_INVALID")
        elif not hmac.compare_digest(session.refresh_jti, str(token.get("jti"))):
            _revoke(session, "refresh_reuse")
            refusal = (
                "this refresh token was already used: every token of this login is revoked",
                session.user.get_username(),
                "AUTH_REFRESH_REUSED",
            )
        else:
            token.set_jti()
            token.set_exp()
            token.set_iat()
            session.refresh_jti = token["jti"]
            session.expires_at = timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
            session.last_used_at = timezone.now()
            session.version += 1
            session.save()
    if refusal is not None:
        message, name, code = refusal
        raise _refresh_refused(caller, message, name, code=code, session=sid)
    _audit(caller, action="auth.refresh", result="ok", actor=session.user.get_username(), session=session.id)
    return token


def _revoke(session: LoginSession, reason: str) -> None:
    if session.revoked_at is None:
        session.revoked_at = timezone.now()
        session.revoked_reason = reason
        session.version += 1
        session.save(update_fields=["revoked_at", "revoked_reason", "version"])


def _named(user: AbstractBaseUser | None) -> AbstractBaseUser:
    """Whose logins the control plane acts on (a signed-in user acts on their own: ``access.authorize_self``)."""
    if user is None:
        raise IamError("say whose logins", code="SESSION_NOT_FOUND")
    return user


def do_revoke_login_session(
    *, metadata: Metadata, session_id: str, reason: str = "revoked", user: AbstractBaseUser | None = None
) -> None:
    """End one of the actor's own logins: its refresh and access tokens stop working."""
    owner = access.authorize_self(metadata, "end a login") or _named(user)
    with transaction.atomic():
        session = LoginSession.objects.select_for_update().filter(id=session_id, user_id=owner.pk).first()
        if session is None:
            raise IamError("no such login of yours", code="SESSION_NOT_FOUND")
        _revoke(session, reason)


def do_revoke_all_login_sessions(*, metadata: Metadata, user: AbstractBaseUser | None = None) -> int:
    """End every login of the actor (this one too); returns how many were live."""
    owner = access.authorize_self(metadata, "end logins") or _named(user)
    with transaction.atomic():
        live = list(LoginSession.objects.select_for_update().filter(user_id=owner.pk, revoked_at__isnull=True))
        for session in live:
            _revoke(session, "revoked_all")
    return len(live)


def do_log_out(*, raw: str) -> None:
    """Logout with a refresh token: its whole login ends (older tokens without a login are blacklisted)."""
    try:
        token = RefreshToken(raw)
    except TokenError as exc:
        raise IamError(str(exc), code="AUTH_TOKEN_INVALID") from None
    sid = token.get(sessions.SID)
    if sid is None:
        token.blacklist()
        return
    with transaction.atomic():
        session = LoginSession.objects.select_for_update().filter(id=str(sid)).first()
        if session is None:
            raise IamError("unknown login", code="AUTH_TOKEN_INVALID")
        _revoke(session, "logout")


# --- users and invitations ---------------------------------------------------------------------------------------


def _check_username(username: str) -> str:
    username = username.strip()
    try:
        if not username or len(username) > 150:
            raise ValidationError("1..150 characters")
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise IamError(
            "a user name is 1..150 letters, digits and @ . + - _", code="USERNAME_INVALID", field="username"
        ) from None
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise IamError("a user with this name exists", code="USER_EXISTS", field="username")
    return username


def _check_password(password: str, user: AbstractBaseUser) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise IamError(
            "the password is too weak", code="PASSWORD_INVALID", field="password", reasons=exc.messages
        ) from None


def do_create_user(
    *, metadata: Metadata, username: str, email: str = "", password: str | None = None
) -> AbstractBaseUser:
    """A platform administrator creates a user (no role, not staff; without a password: unusable until set)."""
    access.authorize_platform(metadata, "create users")
    with transaction.atomic():
        user = get_user_model()(username=_check_username(username), email=email.strip())
        if password:
            _check_password(password, user)
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user


def do_invite_user(
    *,
    metadata: Metadata,
    tenant: Tenant,
    username: str,
    role: str,
    workspace: Workspace | None = None,
    email: str = "",
    expires_in_hours: int | None = None,
) -> tuple[Invitation, str]:
    """Invite a new user to the tenant with a role; the token (plaintext) is returned here once."""
    access.authorize(metadata, "member.manage", tenant_id=tenant.id)
    if role not in ROLES:
        raise IamError(f"unknown role {role!r}; roles are {', '.join(ROLES)}", code="ROLE_INVALID", field="role")
    _check_place(tenant, workspace)
    hours = expires_in_hours or settings.CONTROLPLANE_INVITATION_HOURS
    if not 1 <= hours <= 720:
        raise IamError("an invitation lasts 1..720 hours", code="INVITATION_EXPIRY_INVALID", field="expires_in_hours")
    plaintext, prefix, key_hash = generate(INVITATION_PREFIX)
    invitation = Invitation.objects.create(
        id=uuid.uuid4().hex,
        tenant=tenant,
        workspace=workspace,
        role=role,
        username=_check_username(username),
        email=email.strip(),
        prefix=prefix,
        key_hash=key_hash,
        invited_by=_by(metadata),
        expires_at=timezone.now() + timedelta(hours=hours),
    )
    return invitation, plaintext


def do_revoke_invitation(*, metadata: Metadata, invitation: Invitation) -> None:
    access.authorize(metadata, "member.manage", tenant_id=invitation.tenant_id)
    if invitation.accepted_at is not None:
        raise IamError("this invitation was already accepted", code="INVITATION_NOT_PENDING")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.version += 1
        invitation.save(update_fields=["revoked_at", "version"])


def do_accept_invitation(*, token: str, password: str) -> tuple[Invitation, AbstractBaseUser]:
    """The invitee sets a password: the user is created with the invited role; the token works once."""
    refused = IamError("this invitation is unknown, used, revoked or expired", code="INVITATION_INVALID")
    prefix = token[len(INVITATION_PREFIX) :].split("_", 1)[0] if token.startswith(INVITATION_PREFIX) else ""
    with transaction.atomic():
        # no select_related: PostgreSQL refuses FOR UPDATE on the nullable side of the workspace's outer join
        invitation = Invitation.objects.select_for_update().filter(prefix=prefix).first()
        if invitation is None or not hmac.compare_digest(invitation.key_hash, digest(token)):
            raise refused
        if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= timezone.now():
            raise refused
        user = get_user_model()(username=_check_username(invitation.username), email=invitation.email)
        _check_password(password, user)
        user.set_password(password)
        user.save()
        # the invitation's token is the credential; the grant is the control plane keeping its promise
        do_grant_role(
            metadata=Metadata.for_system(invitation.tenant_id, reason=f"invitation by {invitation.invited_by}"),
            user=user,
            tenant=invitation.tenant,
            workspace=invitation.workspace,
            role=invitation.role,
        )
        invitation.accepted_at = timezone.now()
        invitation.version += 1
        invitation.save(update_fields=["accepted_at", "version"])
    return invitation, user
