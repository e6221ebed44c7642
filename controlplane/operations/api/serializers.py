"""Operations on the wire."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.operations import selectors
from controlplane.operations.models import Operation, OperationStep
from controlplane.operations.plans import plan_hash


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = OperationStep
        fields = [
            "index",
            "key",
            "kind",
            "title",
            "runs_in",
            "targets",
            "params",
            "batch",
            "compensation",
            "continue_on_failure",
            "state",
            "attempt",
            "retry_at",
            "message",
            "percent",
            "result",
            "error_code",
            "error",
            "compensation_result",
            "started_at",
            "finished_at",
        ]


class OperationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Operation
        fields = [
            "id",
            "type",
            "cluster_id",
            "params",
            "state",
            "requested_by",
            "step_count",
            "steps_done",
            "current_step",
            "failed_step",
            "error_code",
            "error",
            "cancel_requested_by",
            "version",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        ]


class OperationDetailSerializer(OperationSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(OperationSerializer.Meta):
        fields = [*OperationSerializer.Meta.fields, "notes", "result", "steps"]

    def get_steps(self, operation: Operation) -> list[dict]:
        return StepSerializer(selectors.operation_steps(operation), many=True).data


class RequestSerializer(Input):
    type = serializers.CharField(max_length=32)
    cluster_id = serializers.CharField(max_length=64)
    params = serializers.DictField(required=False, default=dict)
    plan_hash = serializers.CharField(max_length=64, required=False)  # a dry run's: run only the plan shown


class CancelSerializer(Input):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PlanSerializer(serializers.Serializer):
    """The shape of plan_body (a dry run's answer), for the OpenAPI document."""

    dry_run = serializers.BooleanField()
    type = serializers.CharField()
    cluster_id = serializers.CharField()
    params = serializers.DictField()
    notes = serializers.ListField(child=serializers.CharField())
    steps = serializers.ListField(child=serializers.DictField())
    plan_hash = serializers.CharField()


def plan_body(type_name: str, cluster_id: str, planned) -> dict:  # type: ignore[no-untyped-def]
    """A dry run's answer: each step with its targets, in order, and the parameters as understood."""
    return {
        "dry_run": True,
        "type": type_name,
        "cluster_id": cluster_id,
        "params": planned.params,
        "notes": planned.notes,
        "steps": [{"index": i, **step.to_dict()} for i, step in enumerate(planned.steps)],
        "plan_hash": plan_hash(planned),
    }
