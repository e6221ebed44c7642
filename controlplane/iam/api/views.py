"""Members (role grants), personal API tokens, and JWT login/refresh/logout."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from controlplane.api.base import AuditedViewSet, TenantViewSet, with_etag
from controlplane.api.pagination import Cursor
from controlplane.audit.recorder import record_request
from controlplane.errors import DomainError
from controlplane.iam import actions, throttle
from controlplane.iam.api import serializers as s
from controlplane.iam.backends import request_address
from controlplane.iam.models import ApiToken, Membership
from controlplane.tenancy.models import Workspace


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
        return Membership.objects.filter(tenant=self.tenant).select_related("user", "workspace")

    def retrieve(self, request: Request, tenant: str, pk: str) -> Response:
        membership = self.get_object()
        return with_etag(Response(s.MembershipSerializer(membership).data), membership.version)

    @extend_schema(request=s.GrantSerializer, responses={201: s.MembershipSerializer})
    def create(self, request: Request, tenant: str) -> Response:
        data = s.GrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"], is_active=True).first()
        if user is None:
            raise DomainError("no active user with this name", code="USER_NOT_FOUND", field="username")
        workspace = None
        if data.validated_data["workspace"]:
            workspace = Workspace.objects.filter(tenant=self.tenant, slug=data.validated_data["workspace"]).first()
            if workspace is None:
                raise DomainError("no such workspace in this tenant", code="WORKSPACE_NOT_FOUND", field="workspace")
        membership = actions.do_grant_role(
            user=user,
            tenant=self.tenant,
            workspace=workspace,
            role=data.validated_data["role"],
            granted_by=self.metadata().actor.id,
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
            user=membership.user,
            tenant=self.tenant,
            workspace=membership.workspace,
            role=data.validated_data["role"],
            granted_by=self.metadata().actor.id,
        )
        return with_etag(Response(s.MembershipSerializer(membership).data), membership.version)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, pk: str) -> Response:
        membership = self.get_object()
        self.check_version(membership.version)
        actions.do_revoke_role(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/tokens/[<id>/]``: the caller's own personal tokens for this tenant."""

    resource_type = "api_token"
    serializer_class = s.ApiTokenSerializer
    pagination_class = type("TokenCursor", (Cursor,), {"ordering": "-created_at"})
    points = {"list": "tenant.read", "retrieve": "tenant.read", "create": "tenant.read", "destroy": "tenant.read"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return ApiToken.objects.filter(tenant=self.tenant, user=self.request.user)

    def retrieve(self, request: Request, tenant: str, pk: str) -> Response:
        token = self.get_object()
        return with_etag(Response(s.ApiTokenSerializer(token).data), token.version)

    @extend_schema(request=s.ApiTokenCreateSerializer, responses={201: s.ApiTokenCreatedSerializer})
    def create(self, request: Request, tenant: str) -> Response:
        data = s.ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = actions.do_create_api_token(user=request.user, tenant=self.tenant, **data.validated_data)
        self.audit_id = token.id
        body = {**s.ApiTokenSerializer(token).data, "token": plaintext}  # shown this once only
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, pk: str) -> Response:
        token = self.get_object()
        self.check_version(token.version)
        actions.do_revoke_api_token(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginView(TokenObtainPairView):
    """``POST /api/v1/auth/token/`` {username, password} -> {access, refresh}; throttled after failures."""

    def post(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        username = str(request.data.get("username", ""))[:150]
        if throttle.is_locked(username, request_address(request)):
            record_request(
                request,
                action="auth.login",
                resource_type="session",
                result="denied",
                error_code="LOGIN_THROTTLED",
                actor=("anonymous", username),
            )
            raise DomainError("too many failed logins; try again later", code="LOGIN_THROTTLED")
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # failures are audited by the user_login_failed signal
            throttle.clear(username)
            record_request(request, action="auth.login", resource_type="session", result="ok", actor=("user", username))
        return response


class RefreshView(TokenRefreshView):
    """``POST /api/v1/auth/token/refresh/`` {refresh} -> a new pair; the old refresh token is blacklisted."""


class LogoutViewSet(AuditedViewSet):
    """``POST /api/v1/auth/logout/`` {refresh}: blacklists the refresh token."""

    resource_type = "session"
    permission_classes = [AllowAny]
    serializer_class = s.LogoutSerializer

    @extend_schema(request=s.LogoutSerializer, responses={204: None})
    def create(self, request: Request) -> Response:
        try:
            RefreshToken(str(request.data.get("refresh", ""))).blacklist()
        except TokenError as exc:
            raise DomainError(str(exc), code="AUTH_TOKEN_INVALID") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class WhoAmIViewSet(AuditedViewSet):
    """``GET /api/v1/auth/me/``: who the credentials belong to."""

    resource_type = "session"
    permission_classes = [IsAuthenticated]
    serializer_class = s.WhoAmISerializer

    def retrieve(self, request: Request) -> Response:  # one object: "retrieve", so the schema is not a page
        token = getattr(request._request, "api_token", None)
        return Response(
            {
                "username": request.user.get_username(),
                "platform_admin": request.user.is_superuser,
                "token": token.id if token is not None else None,
            }
        )
