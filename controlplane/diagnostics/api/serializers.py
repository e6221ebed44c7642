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


class FindingSerializer(serializers.Serializer):
    id = serializers.CharField()
    archive_id = serializers.CharField()
    cluster_id = serializers.CharField()
    run_id = serializers.CharField(help_text='the run diagnosed, or ""')
    subject_kind = serializers.CharField()
    subject_id = serializers.CharField()
    fingerprint_id = serializers.CharField()
    title = serializers.CharField(help_text="English, as the library had it when found")
    severity = serializers.CharField()
    score = serializers.FloatField()
    evidence = serializers.CharField(help_text="the matched line, redacted")
    source_file = serializers.CharField(help_text="its path inside the archive")
    node = serializers.CharField(help_text='the node id, "" for the engine\'s REST view')
    one_click = serializers.SerializerMethodField()
    fixes = serializers.JSONField(
        help_text="the fixes confirmed for it: operation_id, type, at (job_version_id for a job_version fix)"
    )
    created_at = serializers.DateTimeField()

    def get_one_click(self, finding) -> dict | None:  # type: ignore[no-untyped-def]
        from controlplane.diagnostics.library import fault_library

        fingerprint = fault_library().get(finding.fingerprint_id)
        fix = fingerprint.one_click if fingerprint is not None else None
        return {"kind": fix.kind, "type": fix.type, "params": dict(fix.params)} if fix else None


class ArchiveSerializer(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    workspace_id = serializers.CharField()
    cluster_id = serializers.CharField()
    subject_kind = serializers.CharField(help_text="cluster | node | run")
    subject_id = serializers.CharField()
    operation_id = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    files = serializers.IntegerField()
    failures = serializers.JSONField(help_text="what could not be collected: source, reason")
    finding_count = serializers.IntegerField()
    state = serializers.CharField(help_text="available | expired")
    downloads = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    expired_at = serializers.DateTimeField(allow_null=True)


class ArchiveDetailSerializer(ArchiveSerializer):
    findings = serializers.SerializerMethodField()

    def get_findings(self, archive) -> list[dict]:  # type: ignore[no-untyped-def]
        from controlplane.diagnostics.selectors import finding_list

        rows = finding_list().filter(archive_id=archive.id).order_by("-score", "id")
        return FindingSerializer(rows, many=True).data  # type: ignore[return-value]


class FixRequestSerializer(Input):
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="params the fix leaves open (plugin.install: the jar), over the library's",
    )


class FixConfirmSerializer(FixRequestSerializer):
    plan_hash = serializers.CharField(help_text="the plan_hash of the plan shown")
