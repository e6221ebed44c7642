"""Agents for operators: ``/api/v1/tenants/<t>/workspaces/<w>/agent-bootstrap-tokens/``, ``…/agents/``,
``…/agents/<id>/actions/`` and ``…/agent-actions/``.

Permission points (docs/AGENTS.md): ``cluster.read`` sees agents and actions (an agent is the node side of a
cluster); ``cluster.update`` issues and revokes bootstrap tokens and revokes agents (configuration);
``operation.run`` requests an action and ``operation.cancel`` cancels one (running things on nodes)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.agents import actions, selectors
from controlplane.agents.api.filters import ActionFilter, AgentFilter
from controlplane.agents.api.serializers import (
    ActionDetailSerializer,
    ActionRequestSerializer,
    ActionSerializer,
    AgentDetailSerializer,
    AgentRevokeSerializer,
    AgentSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from controlplane.agents.models import Action, Agent, BootstrapToken
from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.pagination import Cursor


class BootstrapTokenViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "agent_bootstrap_token"
    workspace_scoped = True
    serializer_class = TokenSerializer
    pagination_class = type("TokenCursor", (Cursor,), {"ordering": "-created_at"})
    points = {"list": "cluster.update", "create": "cluster.update", "revoke": "cluster.update"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return BootstrapToken.objects.all()

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    @idempotent
    def create(self, request: Request, tenant: str, workspace: str) -> Response:
        """Issue a one-time bootstrap token; its text is in this answer only."""
        data = TokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token_id, text = actions.do_issue_bootstrap_token(
            metadata=self.metadata(), tenant_id=self.tenant.id, workspace_id=self.workspace.id, **data.validated_data
        )
        self.audit_id = token_id
        row = BootstrapToken.objects.get(id=token_id)
        return with_etag(
            Response({**TokenSerializer(row).data, "token": text}, status=status.HTTP_201_CREATED), row.version
        )

    @extend_schema(request=None, responses=TokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        token = self.get_object()
        self.check_version(token.version)
        actions.do_revoke_bootstrap_token(metadata=self.metadata(), token_id=token.id)
        token.refresh_from_db()
        return with_etag(Response(TokenSerializer(token).data), token.version)


class AgentViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "agent"
    workspace_scoped = True
    serializer_class = AgentSerializer
    pagination_class = type("AgentCursor", (Cursor,), {"ordering": "hostname"})
    filterset_class = AgentFilter
    points = {
        "list": "cluster.read",
        "retrieve": "cluster.read",
        "revoke": "cluster.update",
        "actions": "cluster.read",
        "request_action": "operation.run",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Agent.objects.all()

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.action == "list":
            page_ids = getattr(self, "_page_ids", None)
            if page_ids is not None:
                context["liveness"] = selectors.liveness_list(page_ids)
        return context

    def list(self, request: Request, tenant: str, workspace: str) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        self._page_ids = [agent.id for agent in page]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=AgentDetailSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        agent = self.get_object()
        return with_etag(Response(AgentDetailSerializer(agent).data), agent.version)

    @extend_schema(request=AgentRevokeSerializer, responses=AgentDetailSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Revoke the agent's credential: every later request of it answers 401 AGENT_REVOKED."""
        agent = self.get_object()
        data = AgentRevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.check_version(agent.version)
        actions.do_revoke_agent(metadata=self.metadata(), agent_id=agent.id, reason=data.validated_data["reason"])
        agent.refresh_from_db()
        return with_etag(Response(AgentDetailSerializer(agent).data), agent.version)

    @extend_schema(responses=ActionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def actions(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        agent = self.get_object()
        paginator = ActionCursor()
        page = paginator.paginate_queryset(Action.objects.filter(agent_id=agent.id), request, view=self)
        return paginator.get_paginated_response(ActionSerializer(page or [], many=True).data)

    @extend_schema(request=ActionRequestSerializer, responses={201: ActionDetailSerializer})
    @idempotent
    def request_action(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Queue a signed action for this agent (answers 201; the agent picks it up with its next poll)."""
        agent = self.get_object()
        data = ActionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        action_id = actions.do_request_action(
            metadata=self.metadata(),
            agent_id=agent.id,
            action_type=values["type"],
            params=values["params"],
            key=values["key"] or f"api:{uuid.uuid4().hex}",
            expires_in_seconds=values["expires_in_seconds"],
        )
        self.audit_id = action_id
        row = Action.objects.get(id=action_id)
        return with_etag(Response(ActionDetailSerializer(row).data, status=status.HTTP_201_CREATED), row.version)


class ActionCursor(Cursor):
    ordering = "-created_at"


class ActionViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "agent_action"
    workspace_scoped = True
    serializer_class = ActionSerializer
    pagination_class = ActionCursor
    filterset_class = ActionFilter
    points = {"list": "cluster.read", "retrieve": "cluster.read", "cancel": "operation.cancel"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Action.objects.all()

    @extend_schema(responses=ActionDetailSerializer)
    def retrieve(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        row = self.get_object()
        return with_etag(Response(ActionDetailSerializer(row).data), row.version)

    @extend_schema(request=None, responses=ActionDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, tenant: str, workspace: str, pk: str) -> Response:
        """Cancel: a queued action at once, a delivered or running one through the agent."""
        row = self.get_object()
        self.check_version(row.version)
        actions.do_request_cancel(metadata=self.metadata(), action_id=row.id)
        row.refresh_from_db()
        return with_etag(Response(ActionDetailSerializer(row).data), row.version)
