"""Agents for operators: ``/api/v1/tenants/<t>/workspaces/<w>/agent-bootstrap-tokens/``, ``…/agents/``,
``…/agents/<id>/actions/`` and ``…/agent-actions/``.

Permission points (docs/AGENTS.md): ``cluster.read`` sees agents and actions (an agent is the node side of a
cluster); ``cluster.update`` issues and revokes bootstrap tokens and revokes agents (configuration);
``operation.run`` requests an action and ``operation.cancel`` cancels one (running things on nodes)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.agents import actions, selectors
from controlplane.agents.domain.action import MAX_EXPIRY_SECONDS, MIN_EXPIRY_SECONDS
from controlplane.agents.domain.agent import MAX_TOKEN_SECONDS
from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.agents.models import Action, ActionArtifact, ActionOutput, Agent, AgentLiveness, BootstrapToken
from controlplane.api.base import TenantViewSet, with_etag
from controlplane.api.idempotency import idempotent
from controlplane.api.inputs import Input
from controlplane.api.pagination import Cursor
from controlplane.api.schema import list_filters

MAX_OUTPUT_CHUNKS = 2000


class TokenSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = BootstrapToken
        fields = [
            "id",
            "cluster_id",
            "description",
            "expires_at",
            "status",
            "used_by_agent",
            "created_by",
            "created_at",
            "version",
        ]

    def get_status(self, token: BootstrapToken) -> str:
        from django.utils import timezone

        if token.revoked:
            return "revoked"
        if token.used:
            return "used"
        return "expired" if token.expires_at <= timezone.now() else "usable"


class TokenCreateSerializer(Input):
    cluster_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    expires_in_seconds = serializers.IntegerField(min_value=60, max_value=MAX_TOKEN_SECONDS, default=3600)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField()

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


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


class AgentSerializer(serializers.ModelSerializer):
    last_heartbeat_at = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "id",
            "hostname",
            "cluster_id",
            "member_address",
            "agent_version",
            "status",
            "status_since",
            "allowlist",
            "last_heartbeat_at",
            "registered_at",
            "revoked_reason",
            "version",
        ]

    def get_last_heartbeat_at(self, agent: Agent) -> str | None:
        seen = self.context.get("liveness", {}).get(agent.id)
        if seen is None and "liveness" not in self.context:
            seen = selectors.liveness_get(agent.id)
        return seen.last_heartbeat_at.isoformat() if seen is not None else None


class LivenessSerializer(serializers.Serializer):
    last_heartbeat_at = serializers.DateTimeField()
    sent_at = serializers.CharField()
    heartbeats = serializers.IntegerField()


class AgentDetailSerializer(AgentSerializer):
    liveness = serializers.SerializerMethodField()
    facts = serializers.SerializerMethodField()
    registration_facts = serializers.JSONField(source="facts")
    node = serializers.SerializerMethodField()

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "liveness", "facts", "registration_facts", "node"]

    def _row(self, agent: Agent) -> AgentLiveness | None:
        return selectors.liveness_get(agent.id)

    def get_liveness(self, agent: Agent) -> dict | None:
        row = self._row(agent)
        if row is None:
            return None
        return {"last_heartbeat_at": row.last_heartbeat_at, "sent_at": row.sent_at, "heartbeats": row.heartbeats}

    def get_facts(self, agent: Agent) -> dict:
        row = self._row(agent)
        return row.facts if row is not None and row.facts else agent.facts

    def get_node(self, agent: Agent) -> dict | None:
        """The cluster member this agent supervises, as the cluster's health poll knows it."""
        node = selectors.node_of(agent)
        if node is None:
            return None
        return {"address": node.address, "role": node.role or None, "status": node.status}


class AgentRevokeSerializer(Input):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Action
        fields = [
            "id",
            "agent_id",
            "type",
            "params",
            "state",
            "key",
            "operation_id",
            "step_key",
            "requested_by",
            "issued_at",
            "expires_at",
            "delivered_at",
            "started_at",
            "finished_at",
            "cancel_requested",
            "progress_percent",
            "progress_message",
            "exit_code",
            "result",
            "error_code",
            "error_message",
            "created_at",
            "updated_at",
            "version",
        ]


class ActionDetailSerializer(ActionSerializer):
    output = serializers.SerializerMethodField()
    output_tail = serializers.CharField()
    artifacts = serializers.SerializerMethodField()

    class Meta(ActionSerializer.Meta):
        fields = [*ActionSerializer.Meta.fields, "output_tail", "output", "artifacts"]

    def get_output(self, row: Action) -> list[dict]:
        chunks = ActionOutput.objects.filter(action_id=row.id).order_by("seq")[:MAX_OUTPUT_CHUNKS]
        return [{"seq": c.seq, "text": c.chunk, "received_at": c.received_at} for c in chunks]

    def get_artifacts(self, row: Action) -> list[dict]:
        return [
            {"sha256": a.sha256, "size": a.size, "uploaded_at": a.uploaded_at}
            for a in ActionArtifact.objects.filter(action_id=row.id).order_by("id")
        ]


class ActionRequestSerializer(Input):
    type = serializers.ChoiceField(choices=sorted(ACTION_TYPES))
    params = serializers.DictField(required=False, default=dict)
    key = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    expires_in_seconds = serializers.IntegerField(
        min_value=MIN_EXPIRY_SECONDS, max_value=MAX_EXPIRY_SECONDS, default=600
    )


@list_filters("status", "cluster_id")
class AgentViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "agent"
    workspace_scoped = True
    serializer_class = AgentSerializer
    pagination_class = type("AgentCursor", (Cursor,), {"ordering": "hostname"})
    points = {
        "list": "cluster.read",
        "retrieve": "cluster.read",
        "revoke": "cluster.update",
        "actions": "cluster.read",
        "request_action": "operation.run",
    }

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        rows = Agent.objects.all()
        for name in ("status", "cluster_id"):
            value = self.request.query_params.get(name)
            if value:
                rows = rows.filter(**{name: value})
        return rows

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


@list_filters("agent", "state", "operation")
class ActionViewSet(mixins.ListModelMixin, TenantViewSet):
    resource_type = "agent_action"
    workspace_scoped = True
    serializer_class = ActionSerializer
    pagination_class = ActionCursor
    points = {"list": "cluster.read", "retrieve": "cluster.read", "cancel": "operation.cancel"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        rows = Action.objects.all()
        for name, column in (("agent", "agent_id"), ("state", "state"), ("operation", "operation_id")):
            value = self.request.query_params.get(name)
            if value:
                rows = rows.filter(**{column: value})
        return rows

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
