"""The list filters of archives and findings: exact matches."""

from __future__ import annotations

from django_filters import rest_framework as filters

from controlplane.diagnostics.models import DiagnosticArchive, Finding


class ArchiveFilter(filters.FilterSet):
    cluster_id = filters.CharFilter()
    subject_kind = filters.CharFilter()
    subject_id = filters.CharFilter()
    state = filters.CharFilter()

    class Meta:
        model = DiagnosticArchive
        fields = ("cluster_id", "subject_kind", "subject_id", "state")


class FindingFilter(filters.FilterSet):
    cluster_id = filters.CharFilter()
    run_id = filters.CharFilter()
    archive_id = filters.CharFilter()
    fingerprint_id = filters.CharFilter()

    class Meta:
        model = Finding
        fields = ("cluster_id", "run_id", "archive_id", "fingerprint_id")
