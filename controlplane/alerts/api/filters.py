"""The alerts list's filters (``…/alerts/?state=&severity=&silenced=&acknowledged=&rule=&cluster=``)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from controlplane.alerts.api.serializers import ALERT_STATUSES, SILENCE_STATUSES
from controlplane.alerts.domain.rules import SEVERITIES
from controlplane.alerts.models import Alert, Silence


class AlertFilter(filters.FilterSet):
    state = filters.ChoiceFilter(field_name="status", choices=[(s, s) for s in ALERT_STATUSES])
    severity = filters.ChoiceFilter(choices=[(s, s) for s in SEVERITIES])
    silenced = filters.BooleanFilter()
    inhibited = filters.BooleanFilter()
    acknowledged = filters.BooleanFilter()
    rule = filters.CharFilter(field_name="rule_id")
    cluster = filters.CharFilter()
    source = filters.ChoiceFilter(choices=[("controlplane", "controlplane"), ("prometheus", "prometheus")])

    class Meta:
        model = Alert
        fields = ("state", "severity", "silenced", "inhibited", "acknowledged", "rule", "cluster", "source")


class SilenceFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=[(s, s) for s in SILENCE_STATUSES])

    class Meta:
        model = Silence
        fields = ("status",)
