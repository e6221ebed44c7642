"""Alerts reach their rule's notification channels: a run that fails pages a real local webhook receiver, its
resolution follows, a silenced alert pages nobody, a replay sends nothing twice, and a channel deleted since the
rule named it is skipped without stopping the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from controlplane.alerts import actions
from controlplane.alerts.domain.errors import AlertRuleInvalid
from controlplane.alerts.models import Alert
from controlplane.alerts.subscribers import ROUTE_NOTIFICATIONS
from controlplane.eventlog.models import Checkpoint
from controlplane.notifications import actions as notifications
from controlplane.notifications import tasks
from controlplane.notifications.models import Delivery
from controlplane.seatunnel.states import JobState
from tests.alerts.helpers import channel, make_place, observe, rule, running, settle
from tests.notifications.receiver import receiver

pytestmark = pytest.mark.django_db


def deliver_all() -> list[Delivery]:
    for delivery_id in Delivery.unscoped.filter(state="queued").values_list("id", flat=True):
        tasks.deliver(delivery_id)
    return list(Delivery.unscoped.order_by("created_at"))


def test_a_failed_run_pages_the_rules_channels_and_its_resolution_follows():
    place = make_place()
    with receiver(lambda request: (204, b"")) as hook, receiver(lambda request: (204, b"")) as second:
        ops, oncall = channel(place, hook.url + "/ops"), channel(place, second.url + "/oncall", name="on call")
        rule(place, name="run failed", kind="run_failed", channel_ids=[ops, oncall])
        observe(place, running(place), JobState.FAILED, error="java.lang.OutOfMemoryError: Java heap space")
        settle()
        [alert] = Alert.unscoped.all()
        sent = deliver_all()
        assert sorted((d.channel_id, d.state, d.dedup_key) for d in sent) == sorted(
            [(ops, "delivered", f"{alert.id}:1:firing"), (oncall, "delivered", f"{alert.id}:1:firing")]
        )
        [page] = hook.requests
        notice = page.json()["notice"]
        assert (notice["kind"], notice["status"], notice["name"], notice["severity"], notice["fingerprint"]) == (
            "alert",
            "firing",
            "run failed",
            "critical",
            alert.id,
        )
        assert notice["labels"]["cluster"] == place.cluster_id and notice["labels"]["job"] == place.job_id
        # the job's next run succeeds: the alert resolves and both channels hear it once
        observe(place, running(place), JobState.FINISHED)
        settle()
        deliver_all()
        assert [r.json()["notice"]["status"] for r in hook.requests] == ["firing", "resolved"]
        assert [r.json()["notice"]["status"] for r in second.requests] == ["firing", "resolved"]
        # a replay of the routing subscription sends nothing twice
        Checkpoint.objects.filter(name=ROUTE_NOTIFICATIONS.name).update(position=0)
        settle()
        assert deliver_all() and len(hook.requests) == 2 and Delivery.unscoped.count() == 4


def test_a_silenced_alert_pages_nobody_and_a_deleted_channel_is_skipped():
    place = make_place()
    with receiver(lambda request: (204, b"")) as hook:
        kept, gone = channel(place, hook.url + "/kept"), channel(place, hook.url + "/gone", name="gone")
        rule(place, name="run failed", kind="run_failed", channel_ids=[gone, kept])
        now = timezone.now()
        silence = actions.do_create_silence(
            **place.at,
            fields={
                "matchers": [{"name": "alertname", "op": "=", "value": "run failed"}],
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "reason": "maintenance window",
            },
        )
        observe(place, running(place), JobState.FAILED, error="boom")
        settle()
        [alert] = Alert.unscoped.all()
        assert alert.silenced_by == [silence] and Delivery.unscoped.count() == 0  # muted: listed, not sent
        # the silence ends: the firing alert pages now, but only the channel that still exists
        notifications.do_delete_channel(metadata=place.meta, channel_id=gone)
        actions.do_end_silence(**place.at, silence_id=silence)
        settle()
        [delivery] = deliver_all()
        assert (delivery.channel_id, delivery.state) == (kept, "delivered")
        assert [r.path for r in hook.requests] == ["/kept"] and hook.requests[0].json()["notice"]["status"] == "firing"


def test_a_rule_cannot_name_a_channel_that_does_not_exist_here():
    place, other = make_place(), make_place("beta")
    foreign = channel(other)
    with pytest.raises(AlertRuleInvalid) as info:
        rule(place, name="run failed", kind="run_failed", channel_ids=[foreign])
    assert (info.value.code, info.value.details["field"]) == ("ALERT_RULE_INVALID", "channel_ids")
