"""Agents' API serializers: bootstrap tokens, agents (with liveness and their node), signed actions."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.agents import selectors
from controlplane.agents.domain.action import MAX_EXPIRY_SECONDS, MIN_EXPIRY_SECONDS
from controlplane.agents.domain.agent import MAX_TOKEN_SECONDS
from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.agents.models import Action, ActionArtifact, ActionOutput, Agent, AgentLiveness, BootstrapToken
from controlplane.api.inputs import Input

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
