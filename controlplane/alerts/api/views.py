"""Alerts over HTTP, under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``: ``alert-rules/`` (CRUD; PATCH
``{"enabled": false}`` disables), ``alerts/`` (list with filters, detail, ``acknowledge/``), ``silences/`` (list,
create, detail, ``end/``) and ``alerts/receiver/alertmanager/`` (Alertmanager's webhook). Reads need
``alert.read``, every change ``alert.manage``. Bodies are checked by the domain: codes with ``details.field``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.alerts import actions
from controlplane.alerts.api.filters import AlertFilter, SilenceFilter
from controlplane.alerts.api.serializers import (
    AcknowledgeSerializer,
    AlertSerializer,
    ReceivedSerializer,
    RuleSerializer,
    RuleWriteSerializer,
    SilenceSerializer,
    SilenceWriteSerializer,
    WebhookSerializer,
)
from controlplane.alerts.domain.errors import AlertInputInvalid, AlertRuleInvalid, AlertSilenceInvalid
from controlplane.alerts.models import Alert, AlertRule, Silence
from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor


def _body(request: Request, error: type[Exception]) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise error("the body must be a JSON object", field="body")  # type: ignore[call-arg]
    return dict(request.data)


class _Workspace(TenantViewSet):
    workspace_scoped = True

    def place(self) -> dict[str, Any]:
        return {"metadata": self.metadata(), "tenant_id": self.tenant.id, "workspace_id": self.workspace.id}  # type: ignore[union-attr]


class AlertRuleViewSet(mixins.ListModelMixin, _Workspace):
    resource_type = "alert_rule"
    serializer_class = RuleSerializer
    pagination_class = type("AlertRuleCursor", (Cursor,), {"ordering": "name"})
    points = {
        "list": "alert.read",
        "retrieve": "alert.read",
        "create": "alert.manage",
        "partial_update": "alert.manage",
        "destroy": "alert.manage",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return AlertRule.objects.filter(deleted=False)

    def _respond(self, rule_id: str, code: int = status.HTTP_200_OK) -> Response:
        rule = AlertRule.objects.get(id=rule_id)
        return with_etag(Response(RuleSerializer(rule).data, status=code), rule.version)

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        return self._respond(self.get_object().id)

    @extend_schema(request=RuleWriteSerializer, responses={201: RuleSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        rule_id = actions.do_create_rule(**self.place(), fields=_body(request, AlertRuleInvalid))
        self.audit_id = rule_id
        return self._respond(rule_id, status.HTTP_201_CREATED)

    @extend_schema(request=RuleWriteSerializer, responses=RuleSerializer)
    def partial_update(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        rule = self.get_object()
        self.check_version(rule.version)
        fields = _body(request, AlertRuleInvalid)
        if "kind" in fields and fields["kind"] != rule.kind:
            raise AlertRuleInvalid("a rule's kind cannot change: create another rule", field="kind")
        fields.pop("kind", None)
        actions.do_update_rule(**self.place(), rule_id=rule.id, fields=fields, expected_version=rule.version)
        return self._respond(rule.id)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        rule = self.get_object()
        self.check_version(rule.version)
        actions.do_delete_rule(**self.place(), rule_id=rule.id, expected_version=rule.version)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertViewSet(mixins.ListModelMixin, _Workspace):
    resource_type = "alert"
    serializer_class = AlertSerializer
    pagination_class = type("AlertCursor", (Cursor,), {"ordering": "-starts_at"})
    filterset_class = AlertFilter
    points = {"list": "alert.read", "retrieve": "alert.read", "acknowledge": "alert.manage", "receive": "alert.manage"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Alert.objects.all()

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        alert = self.get_object()
        return with_etag(Response(AlertSerializer(alert).data), alert.version)

    @extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        alert = self.get_object()
        self.check_version(alert.version)
        comment = _body(request, AlertInputInvalid).get("comment", "")
        actions.do_acknowledge_alert(**self.place(), fingerprint=alert.id, comment=comment)
        alert.refresh_from_db()
        return with_etag(Response(AlertSerializer(alert).data), alert.version)

    @extend_schema(request=WebhookSerializer, responses=ReceivedSerializer)
    @action(detail=False, methods=["post"])
    def receive(self, request: Request, tenant: str, workspace: str) -> Response:
        """Alertmanager's webhook (``webhook_configs`` with ``http_config.authorization`` bearer: an API token
        holding ``alert.manage`` here). Malformed: 400 ALERT_RECEIVER_PAYLOAD_INVALID, nothing written."""
        counts = actions.do_receive_alertmanager(**self.place(), body=request.data)
        return Response(counts)


class SilenceViewSet(mixins.ListModelMixin, _Workspace):
    resource_type = "silence"
    serializer_class = SilenceSerializer
    pagination_class = type("SilenceCursor", (Cursor,), {"ordering": "-starts_at"})
    filterset_class = SilenceFilter
    points = {
        "list": "alert.read",
        "retrieve": "alert.read",
        "create": "alert.manage",
        "end": "alert.manage",
        "destroy": "alert.manage",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Silence.objects.all()

    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        silence = self.get_object()
        return with_etag(Response(SilenceSerializer(silence).data), silence.version)

    @extend_schema(request=SilenceWriteSerializer, responses={201: SilenceSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        silence_id = actions.do_create_silence(**self.place(), fields=_body(request, AlertSilenceInvalid))
        self.audit_id = silence_id
        silence = Silence.objects.get(id=silence_id)
        return with_etag(Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED), silence.version)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """As Alertmanager's DELETE of a silence: it ends now (the record stays, status ``ended``)."""
        silence = self.get_object()
        self.check_version(silence.version)
        actions.do_end_silence(**self.place(), silence_id=silence.id, expected_version=silence.version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=SilenceSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        silence = self.get_object()
        self.check_version(silence.version)
        actions.do_end_silence(**self.place(), silence_id=silence.id, expected_version=silence.version)
        silence.refresh_from_db()
        return with_etag(Response(SilenceSerializer(silence).data), silence.version)
