"""Platform-wide endpoints of iam, for platform administrators only (never with a tenant-bound token):
``/api/v1/platform-tokens/[<id>/]`` and ``/api/v1/users/``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import AuditedViewSet, metadata_for, with_etag
from controlplane.api.pagination import Cursor
from controlplane.iam import access, actions
from controlplane.iam.api import serializers as s
from controlplane.iam.api.views import json_object
from controlplane.iam.models import ApiToken


class PlatformViewSet(AuditedViewSet):
    """Refuses everyone but a platform administrator (signed in, or with a platform token) before any action."""

    permission_classes = [IsAuthenticated]
    what: str

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        access.require_platform_admin(request.user, self.what)


class PlatformTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PlatformViewSet):
    """The caller's own platform tokens: made explicitly here, never under a tenant; audited like every write."""

    resource_type = "platform_token"
    what = "manage platform tokens"
    serializer_class = s.PlatformTokenSerializer
    pagination_class = type("PlatformTokenCursor", (Cursor,), {"ordering": "-created_at"})

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ApiToken.objects.filter(user_id=self.request.user.pk, kind="platform")

    def retrieve(self, request: Request, pk: str) -> Response:
        token = self.get_object()
        return with_etag(Response(s.PlatformTokenSerializer(token).data), token.version)

    @extend_schema(request=s.PlatformTokenCreateSerializer, responses={201: s.PlatformTokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        data = s.PlatformTokenCreateSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        token, plaintext = actions.do_create_api_token(
            metadata=metadata_for(request, None), tenant=None, kind="platform", **data.validated_data
        )
        self.audit_id = token.id
        body = {**s.PlatformTokenSerializer(token).data, "token": plaintext}  # shown this once only
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        actions.do_revoke_api_token(metadata=metadata_for(request, None), token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserViewSet(mixins.ListModelMixin, PlatformViewSet):
    """``/api/v1/users/``: list users; create one (no role: grant one, or invite instead)."""

    resource_type = "user"
    what = "manage users"
    serializer_class = s.UserSerializer
    pagination_class = type("UserCursor", (Cursor,), {"ordering": "username"})

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return get_user_model().objects.all()

    @extend_schema(request=s.UserCreateSerializer, responses={201: s.UserSerializer})
    def create(self, request: Request) -> Response:
        data = s.UserCreateSerializer(data=json_object(request))
        data.is_valid(raise_exception=True)
        user = actions.do_create_user(metadata=metadata_for(request, None), **data.validated_data)
        self.audit_id = user.get_username()
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)
