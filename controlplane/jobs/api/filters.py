"""The runs list's filters (``…/runs/?state=&job_id=&cluster_id=``): exact matches."""

from __future__ import annotations

from django_filters import rest_framework as filters

from controlplane.api.filters import choices
from controlplane.jobs.domain.runs import RunState
from controlplane.jobs.models import Run


class RunFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=choices(RunState))
    job_id = filters.CharFilter()
    cluster_id = filters.CharFilter()

    class Meta:
        model = Run
        fields = ("state", "job_id", "cluster_id")
