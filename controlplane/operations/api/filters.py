"""The operations list's filters (``…/operations/?state=&type=&cluster_id=``): exact matches."""

from __future__ import annotations

from django_filters import rest_framework as filters

from controlplane.api.filters import choices
from controlplane.operations.domain.states import OperationState
from controlplane.operations.models import Operation


class OperationFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=choices(OperationState))
    # the types are a registry filled at start-up (plans.register_type), like the request body's `type`: a string
    type = filters.CharFilter()
    cluster_id = filters.CharFilter()

    class Meta:
        model = Operation
        fields = ("state", "type", "cluster_id")
