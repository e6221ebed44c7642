"""Secrets over HTTP: metadata in lists and reads, values only through ``reveal`` (secret.reveal, audited)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.secrets import actions
from controlplane.secrets.api.serializers import (
    RevealedSerializer,
    RevealSerializer,
    SecretCreateSerializer,
    SecretSerializer,
    SecretValueSerializer,
)
from controlplane.secrets.models import Secret


class SecretViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/workspaces/<workspace>/secrets/[<id>/[reveal/]]``."""

    resource_type = "secret"
    workspace_scoped = True
    serializer_class = SecretSerializer
    pagination_class = type("SecretCursor", (Cursor,), {"ordering": "name"})
    points = {
        "list": "secret.read",
        "retrieve": "secret.read",
        "create": "secret.create",
        "update": "secret.update",
        "destroy": "secret.delete",
        "reveal": "secret.reveal",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Secret.objects.filter(deleted=False)  # the bound tenant and workspace only

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        secret = self.get_object()
        return with_etag(Response(SecretSerializer(secret).data), secret.current_version)

    @extend_schema(request=SecretCreateSerializer, responses={201: SecretSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        data = SecretCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        secret_id = actions.do_create_secret(
            metadata=self.metadata(), tenant_id=self.tenant.id, workspace_id=self.workspace.id, **data.validated_data
        )
        self.audit_id = secret_id
        secret = Secret.objects.get(id=secret_id)
        return with_etag(Response(SecretSerializer(secret).data, status=status.HTTP_201_CREATED), 1)

    @extend_schema(request=SecretValueSerializer, responses=SecretSerializer)
    def update(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        secret = self.get_object()
        data = SecretValueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(secret.current_version)
        actions.do_update_secret(metadata=self.metadata(), secret_id=secret.id, value=data.validated_data["value"])
        secret.refresh_from_db()
        return with_etag(Response(SecretSerializer(secret).data), secret.current_version)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        secret = self.get_object()
        self.check_version(secret.current_version)
        actions.do_delete_secret(metadata=self.metadata(), secret_id=secret.id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RevealSerializer, responses=RevealedSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        secret = self.get_object()
        data = RevealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value = actions.do_reveal_secret(metadata=self.metadata(), secret_id=secret.id, **data.validated_data)
        response = Response({"id": secret.id, "name": secret.name, "value": value})
        response["Cache-Control"] = "no-store"
        return response
