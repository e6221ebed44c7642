from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input


class MatchRequestSerializer(Input):
    text = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="an errorMsg or a log, at most 1,000,000 characters"
    )
    metrics = serializers.DictField(
        child=serializers.FloatField(),
        required=False,
        default=dict,
        help_text='metrics for fingerprints with conditions, e.g. {"checkpoint.timeout": 500}',
    )
    evidence = serializers.BooleanField(required=False, default=False, help_text="add each match's evidence lines")


class EvidenceSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    text = serializers.CharField()
    place = serializers.CharField()


class MatchSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField(help_text="English")
    score = serializers.FloatField()
    evidence = EvidenceSerializer(many=True, required=False)
