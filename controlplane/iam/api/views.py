"""Members (role grants), personal API tokens, invitations, and JWT login/refresh/logout and login sessions.
Platform tokens and users: ``platform.py``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import AuditedViewSet, TenantViewSet, metadata_for, with_etag
from controlplane.api.errors import envelope
from controlplane.api.pagination import Cursor
from controlplane.errors import DomainError
from controlplane.iam import access, actions, sessions
from controlplane.iam.api import serializers as s
from controlplane.iam.models import LoginSession
from controlplane.iam.selectors import (
    active_user_by_name,
    api_token_list,
    invitation_list,
    membership_list,
    object_grant_list,
)
from controlplane.tenancy.models import Workspace


def json_object(request: Request) -> dict[str, Any]:
    """The body, which must be a JSON object: ``[]``, a number or a string is a 400, never a 500."""
    if not isinstance(request.data, dict):
        raise DomainError("the body must be a JSON object", code="MALFORMED_REQUEST")
    return request.data


def _workspace(tenant, slug: str | None) -> Workspace | None:  # type: ignore[no-untyped-def]
    if not slug:
        return None
    workspace = Workspace.objects.filter(tenant=tenant, slug=slug).first()
    if workspace is None:
        raise DomainError("no such workspace in this tenant", code="WORKSPACE_NOT_FOUND", field="workspace")
    return workspace


class MemberViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/members/[<id>/]``: who holds which role on the tenant or a workspace."""

    resource_type = "member"
    serializer_class = s.MembershipSerializer
    pagination_class = type("MemberCursor", (Cursor,), {"ordering": "id"})
    points = {
        "list": "member.read",
        "retrieve": "member.read",
        "create": "member.manage",
        "partial_update": "member.manage",
        "destroy": "member.manage",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return membership_list(self.tenant.id)

    def retrieve(self, request: Request, tenant: str, pk: str) -> Response:
        membership = self.get_object()
        return with_etag(Response(s.MembershipSerializer(membership).data), membership.version)

    @extend_schema(request=s.GrantSerializer, responses={201: s.MembershipSerializer})
    def create(self, request: Request, tenant: str) -> Response:
        data = s.GrantSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        user = active_user_by_name(data.validated_data["username"])
        if user is None:
            raise DomainError("no active user with this name", code="USER_NOT_FOUND", field="username")
        membership = actions.do_grant_role(
            metadata=self.metadata(),
            user=user,
            tenant=self.tenant,
            workspace=_workspace(self.tenant, data.validated_data["workspace"]),
            role=data.validated_data["role"],
        )
        self.audit_id = str(membership.pk)
        return with_etag(
            Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED), membership.version
        )

    @extend_schema(request=s.RoleChangeSerializer, responses=s.MembershipSerializer)
    def partial_update(self, request: Request, tenant: str, pk: str) -> Response:
        membership = self.get_object()
        data = s.RoleChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(membership.version)
        membership = actions.do_grant_role(
            metadata=self.metadata(),
            user=membership.user,
            tenant=self.tenant,
            workspace=membership.workspace,
            role=data.validated_data["role"],
        )
        return with_etag(Response(s.MembershipSerializer(membership).data), membership.version)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, pk: str) -> Response:
        membership = self.get_object()
        self.check_version(membership.version)
        actions.do_revoke_role(metadata=self.metadata(), membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ObjectGrantViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/object-grants/[<id>/]``: roles on one cluster or one job (ADR 0019). Managed by
    whoever manages members; the grantee sees only those objects (and their tenant and workspace)."""

    resource_type = "object_grant"
    serializer_class = s.ObjectGrantSerializer
    pagination_class = type("ObjectGrantCursor", (Cursor,), {"ordering": "id"})
    points = {"list": "member.read", "retrieve": "member.read", "create": "member.manage", "destroy": "member.manage"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return object_grant_list()

    def retrieve(self, request: Request, tenant: str, pk: str) -> Response:
        return Response(s.ObjectGrantSerializer(self.get_object()).data)

    @extend_schema(request=s.ObjectGrantCreateSerializer, responses={201: s.ObjectGrantSerializer})
    def create(self, request: Request, tenant: str) -> Response:
        data = s.ObjectGrantCreateSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        user = active_user_by_name(data.validated_data["username"])
        if user is None:
            raise DomainError("no active user with this name", code="USER_NOT_FOUND", field="username")
        grant = actions.do_grant_object_role(
            metadata=self.metadata(),
            user=user,
            tenant=self.tenant,
            kind=data.validated_data["kind"],
            object_id=data.validated_data["object"],
            role=data.validated_data["role"],
        )
        self.audit_id = str(grant.pk)
        return Response(s.ObjectGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, pk: str) -> Response:
        actions.do_revoke_object_role(metadata=self.metadata(), tenant=self.tenant, grant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/tokens/[<id>/]``: the caller's own personal tokens for this tenant (any member,
    a workspace-only one too: tenant.read is a member point, ``iam.access.MEMBER_POINTS``)."""

    resource_type = "api_token"
    serializer_class = s.ApiTokenSerializer
    pagination_class = type("TokenCursor", (Cursor,), {"ordering": "-created_at"})
    points = {"list": "tenant.read", "retrieve": "tenant.read", "create": "tenant.read", "destroy": "tenant.read"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return api_token_list(self.request.user.pk, self.tenant.id)

    def retrieve(self, request: Request, tenant: str, pk: str) -> Response:
        token = self.get_object()
        return with_etag(Response(s.ApiTokenSerializer(token).data), token.version)

    @extend_schema(request=s.ApiTokenCreateSerializer, responses={201: s.ApiTokenCreatedSerializer})
    def create(self, request: Request, tenant: str) -> Response:
        data = s.ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = actions.do_create_api_token(
            metadata=self.metadata(), tenant=self.tenant, **data.validated_data
        )
        self.audit_id = token.id
        body = {**s.ApiTokenSerializer(token).data, "token": plaintext}  # shown this once only
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, pk: str) -> Response:
        token = self.get_object()
        self.check_version(token.version)
        actions.do_revoke_api_token(metadata=self.metadata(), token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/invitations/[<id>/]``: invite a new user with a role; the token is shown once."""

    resource_type = "invitation"
    serializer_class = s.InvitationSerializer
    pagination_class = type("InvitationCursor", (Cursor,), {"ordering": "-created_at"})
    points = {"list": "member.read", "retrieve": "member.read", "create": "member.manage", "destroy": "member.manage"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return invitation_list(self.tenant.id)

    def retrieve(self, request: Request, tenant: str, pk: str) -> Response:
        invitation = self.get_object()
        return with_etag(Response(s.InvitationSerializer(invitation).data), invitation.version)

    @extend_schema(request=s.InvitationCreateSerializer, responses={201: s.InvitationCreatedSerializer})
    def create(self, request: Request, tenant: str) -> Response:
        data = s.InvitationCreateSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        invitation, plaintext = actions.do_invite_user(
            metadata=self.metadata(),
            tenant=self.tenant,
            workspace=_workspace(self.tenant, fields.pop("workspace")),
            **fields,
        )
        self.audit_id = invitation.id
        body = {**s.InvitationSerializer(invitation).data, "token": plaintext}  # shown this once only
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, pk: str) -> Response:
        invitation = self.get_object()
        self.check_version(invitation.version)
        actions.do_revoke_invitation(metadata=self.metadata(), invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptViewSet(AuditedViewSet):
    """``POST /api/v1/invitations/accept/`` {token, password}: the invitee's user is created; no login needed."""

    resource_type = "invitation"
    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = s.InvitationAcceptSerializer

    @extend_schema(request=s.InvitationAcceptSerializer, responses={201: s.InvitationAcceptedSerializer})
    def accept(self, request: Request) -> Response:
        data = s.InvitationAcceptSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        invitation, user = actions.do_accept_invitation(**data.validated_data)
        self.tenant, self.audit_id = invitation.tenant, invitation.id
        return Response(
            {"username": user.get_username(), "tenant": invitation.tenant.slug, "role": invitation.role},
            status=status.HTTP_201_CREATED,
        )


class LoginView(generics.GenericAPIView):
    """``POST /api/v1/auth/token/`` {username, password} -> {access, refresh}: a new login (token family).
    Throttled per (name, address) with growing delays: 429 LOGIN_THROTTLED with Retry-After."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = s.LoginSerializer

    def post(self, request: Request) -> Response:
        data = s.LoginSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        try:
            refresh = actions.do_log_in(request=request._request, **data.validated_data)
        except actions.LoginThrottled as exc:
            # 429 with Retry-After in the header and the envelope (the generic handler has no header for it)
            wait = exc.details["retry_after_seconds"]
            body = envelope(exc.code, exc.message, exc.details, getattr(request._request, "request_id", ""))
            return Response(body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)})
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class RefreshView(generics.GenericAPIView):
    """``POST /api/v1/auth/token/refresh/`` {refresh} -> a new pair. Only the newest refresh token of a login
    works; an older one revokes the whole login (``actions.do_refresh_login``)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = s.RefreshSerializer

    def post(self, request: Request) -> Response:
        data = s.RefreshSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        refresh = actions.do_refresh_login(
            raw=data.validated_data["refresh"], caller=actions.caller_of(request._request)
        )
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class LogoutViewSet(AuditedViewSet):
    """``POST /api/v1/auth/logout/`` {refresh}: ends the login the refresh token belongs to."""

    resource_type = "session"
    permission_classes = [AllowAny]
    serializer_class = s.LogoutSerializer

    @extend_schema(request=s.LogoutSerializer, responses={204: None})
    def create(self, request: Request) -> Response:
        data = s.LogoutSerializer(data=json_object(request))
        if not data.is_valid():
            raise DomainError("a refresh token is required", code="AUTH_TOKEN_INVALID")
        actions.do_log_out(raw=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginSessionViewSet(mixins.ListModelMixin, AuditedViewSet):
    """``/api/v1/auth/sessions/[<id>/]``, ``…/sessions/revoke-all/``: the caller's own live logins; end one or
    all. Needs a login (JWT or console session), not an API token."""

    resource_type = "session"
    permission_classes = [IsAuthenticated]
    serializer_class = s.LoginSessionSerializer
    pagination_class = type("SessionCursor", (Cursor,), {"ordering": "-created_at"})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        access.authorize_self(metadata_for(request, None), "list logins")

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return LoginSession.objects.filter(user_id=self.request.user.pk, revoked_at__isnull=True)

    def get_serializer_context(self) -> dict[str, Any]:
        auth = self.request.auth
        current = auth.get(sessions.SID) if auth is not None and hasattr(auth, "get") else None
        return {**super().get_serializer_context(), "current": current}

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        actions.do_revoke_login_session(metadata=metadata_for(request, None), session_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None})
    def revoke_all(self, request: Request) -> Response:
        actions.do_revoke_all_login_sessions(metadata=metadata_for(request, None))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WhoAmIViewSet(AuditedViewSet):
    """``GET /api/v1/auth/me/``: who the credentials belong to, and what they reach."""

    resource_type = "session"
    permission_classes = [IsAuthenticated]
    serializer_class = s.WhoAmISerializer

    def retrieve(self, request: Request) -> Response:  # one object: "retrieve", so the schema is not a page
        token = getattr(request._request, "api_token", None)
        auth = request.auth
        return Response(
            {
                "username": request.user.get_username(),
                "platform_admin": access.is_platform_admin(request.user),
                "token": token.id if token is not None else None,
                "token_kind": token.kind if token is not None else None,
                "token_tenant": token.tenant.slug if token is not None and token.tenant else None,
                "session": auth.get(sessions.SID) if token is None and hasattr(auth, "get") else None,
            }
        )
