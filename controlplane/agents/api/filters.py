"""The agents list's filters (``…/agents/?status=&cluster_id=``) and the agent actions list's
(``…/agent-actions/?agent=&state=&operation=``): exact matches."""

from __future__ import annotations

from django_filters import rest_framework as filters

from controlplane.agents.domain.action import ActionState
from controlplane.agents.domain.agent import STATUSES
from controlplane.agents.models import Action, Agent
from controlplane.api.filters import choices


class AgentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=choices(STATUSES))
    cluster_id = filters.CharFilter()

    class Meta:
        model = Agent
        fields = ("status", "cluster_id")


class ActionFilter(filters.FilterSet):
    agent = filters.CharFilter(field_name="agent_id")
    state = filters.ChoiceFilter(choices=choices(ActionState))
    operation = filters.CharFilter(field_name="operation_id")

    class Meta:
        model = Action
        fields = ("agent", "state", "operation")
