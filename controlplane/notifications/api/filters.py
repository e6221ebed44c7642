"""The deliveries list's filters (``…/notification-deliveries/?state=&channel_id=&test=``): exact matches."""

from __future__ import annotations

from django_filters import rest_framework as filters

from controlplane.api.filters import choices
from controlplane.notifications.domain.delivery import DeliveryState
from controlplane.notifications.models import Delivery


class DeliveryFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=choices(DeliveryState))
    channel_id = filters.CharFilter()
    test = filters.BooleanFilter()

    class Meta:
        model = Delivery
        fields = ("state", "channel_id", "test")
