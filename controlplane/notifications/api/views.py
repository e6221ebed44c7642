"""Notification channels and deliveries over HTTP (docs/NOTIFICATIONS.md).

``…/notification-channels/[<id>/[disable/|enable/|test/]]``: channels (secrets write-only, shown masked);
``test/`` queues a test notice and answers 202 with the delivery, which the client follows at
``…/notification-deliveries/<id>/``; ``…/notification-deliveries/<id>/redeliver/`` queues a dead one again (202).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor
from controlplane.notifications import actions, selectors
from controlplane.notifications.api.filters import DeliveryFilter
from controlplane.notifications.api.serializers import (
    ChannelCreateSerializer,
    ChannelDisableSerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
)
from controlplane.notifications.models import Channel, Delivery


def _channel(channel: Channel, code: int = status.HTTP_200_OK) -> Response:
    channel.refresh_from_db()
    return with_etag(Response(ChannelSerializer(channel).data, status=code), channel.version)


class ChannelViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "notification_channel"
    workspace_scoped = True
    serializer_class = ChannelSerializer
    pagination_class = type("ChannelCursor", (Cursor,), {"ordering": "name"})
    points = {
        "list": "alert.read",
        "retrieve": "alert.read",
        "create": "alert.manage",
        "partial_update": "alert.manage",
        "destroy": "alert.manage",
        "disable": "alert.manage",
        "enable": "alert.manage",
        "test": "alert.manage",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Channel.objects.filter(deleted=False)  # the bound tenant and workspace only

    def _expected(self, channel: Channel) -> int | None:
        self.check_version(channel.version)
        return channel.version if "If-Match" in self.request.headers else None

    @extend_schema(responses=ChannelSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return _channel(self.get_object())

    @extend_schema(request=ChannelCreateSerializer, responses={201: ChannelSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        data = ChannelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel_id = actions.do_create_channel(
            metadata=self.metadata(), tenant_id=self.tenant.id, workspace_id=self.workspace.id, **data.validated_data
        )
        self.audit_id = channel_id
        return _channel(Channel.objects.get(id=channel_id), status.HTTP_201_CREATED)

    @extend_schema(request=ChannelUpdateSerializer, responses=ChannelSerializer)
    def partial_update(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        channel = self.get_object()
        data = ChannelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.do_update_channel(
            metadata=self.metadata(),
            channel_id=channel.id,
            changes=dict(data.validated_data),
            expected_version=self._expected(channel),
        )
        return _channel(channel)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        channel = self.get_object()
        actions.do_delete_channel(
            metadata=self.metadata(), channel_id=channel.id, expected_version=self._expected(channel)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ChannelDisableSerializer, responses=ChannelSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        channel = self.get_object()
        data = ChannelDisableSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.do_disable_channel(
            metadata=self.metadata(),
            channel_id=channel.id,
            reason=data.validated_data["reason"],
            expected_version=self._expected(channel),
        )
        return _channel(channel)

    @extend_schema(request=None, responses=ChannelSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        channel = self.get_object()
        actions.do_enable_channel(
            metadata=self.metadata(), channel_id=channel.id, expected_version=self._expected(channel)
        )
        return _channel(channel)

    @extend_schema(request=None, responses={202: DeliveryDetailSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Queue a test notice (202); follow the delivery it answers until it is delivered or dead."""
        channel = self.get_object()
        delivery_id = actions.do_send_test_notification(metadata=self.metadata(), channel_id=channel.id)
        delivery = selectors.delivery_get(
            tenant_id=self.tenant.id, workspace_id=self.workspace.id, delivery_id=delivery_id
        )
        return Response(DeliveryDetailSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "notification_delivery"
    workspace_scoped = True
    serializer_class = DeliverySerializer
    pagination_class = type("DeliveryCursor", (Cursor,), {"ordering": "-created_at"})
    filterset_class = DeliveryFilter
    points = {"list": "alert.read", "retrieve": "alert.read", "redeliver": "alert.manage"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Delivery.objects.all()

    @extend_schema(responses=DeliveryDetailSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return Response(DeliveryDetailSerializer(self.get_object()).data)

    @extend_schema(request=None, responses={202: DeliveryDetailSerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Queue a dead delivery again (202), its attempts counted from zero."""
        delivery = self.get_object()
        actions.do_redeliver_notification(metadata=self.metadata(), delivery_id=delivery.id)
        delivery.refresh_from_db()
        return Response(DeliveryDetailSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
