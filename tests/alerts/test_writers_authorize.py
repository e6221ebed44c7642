"""Every writer of alerts authorizes its actor itself (ADR 0018): ``alert.manage`` in the workspace, fail closed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from controlplane.alerts import actions
from controlplane.alerts.domain.alert import Firing
from controlplane.alerts.models import Alert
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests.api.endpoints import alertmanager_body
from tests.authorizing import as_user, refused, user_holding, user_lacking, without_credential

pytestmark = pytest.mark.django_db

LATER = timedelta(days=2)


@dataclass(frozen=True)
class Place:
    tenant: Tenant
    workspace_id: str
    rule_id: str
    fingerprint: str
    silence_id: str
    other_tenant_id: str
    other_workspace_id: str

    def at(self, meta: Metadata) -> dict:
        return {"metadata": meta, "tenant_id": self.tenant.id, "workspace_id": self.workspace_id}


def silence_fields(hours: int = 1) -> dict:
    return {
        "matchers": [{"name": "source", "op": "=", "value": "prometheus"}],
        "ends_at": (timezone.now() + timedelta(hours=hours)).isoformat(),
        "reason": "window",
    }


@pytest.fixture
def place() -> Place:
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    other_tenant_id = tenancy.do_create_tenant(metadata=boot, name="Beta", slug="beta")
    other_workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=other_tenant_id, name="B", slug="b")
    at = {
        "metadata": Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id),
        "tenant_id": tenant_id,
        "workspace_id": workspace_id,
    }
    rule_id = actions.do_create_rule(**at, fields={"name": "failed", "kind": "run_failed"})
    actions.do_receive_alertmanager(**at, body=alertmanager_body())
    silence_id = actions.do_create_silence(**at, fields=silence_fields())  # not yet applied: no refresh has run
    return Place(
        Tenant.objects.get(id=tenant_id),
        workspace_id,
        rule_id,
        Alert.unscoped.get().id,
        silence_id,
        other_tenant_id,
        other_workspace_id,
    )


FIRING = Firing(
    fingerprint="f" * 32,
    source="controlplane",
    rule_id="r1",
    rule_name="by hand",
    severity="info",
    labels={"alertname": "by hand"},
    annotations={},
    summary="fired by a writer test",
    channel_ids=[],
    group_key="{}:{}",
    repeat_interval_seconds=3600,
)

Write = Callable[[Metadata, Place], object]
# writer -> (a call of it, the event it appends when allowed)
WRITERS: dict[str, tuple[Write, str]] = {
    "do_create_rule": (
        lambda m, p: actions.do_create_rule(
            **p.at(m), fields={"name": "stuck", "kind": "run_stuck", "params": {"seconds": 60}}
        ),
        "alerts.rule_created",
    ),
    "do_update_rule": (
        lambda m, p: actions.do_update_rule(**p.at(m), rule_id=p.rule_id, fields={"severity": "info"}),
        "alerts.rule_updated",
    ),
    "do_delete_rule": (lambda m, p: actions.do_delete_rule(**p.at(m), rule_id=p.rule_id), "alerts.rule_deleted"),
    "do_fire_alert": (
        lambda m, p: actions.do_fire_alert(**p.at(m), firing=FIRING, starts_at=timezone.now()),
        "alerts.alert_fired",
    ),
    "do_resolve_alert": (
        lambda m, p: actions.do_resolve_alert(
            **p.at(m), fingerprint=p.fingerprint, ends_at=timezone.now(), reason="condition_cleared"
        ),
        "alerts.alert_resolved",
    ),
    "do_acknowledge_alert": (
        lambda m, p: actions.do_acknowledge_alert(**p.at(m), fingerprint=p.fingerprint, comment="mine"),
        "alerts.alert_acknowledged",
    ),
    "do_refresh_muting": (
        lambda m, p: actions.do_refresh_muting(**p.at(m), now=timezone.now()),
        "alerts.alert_suppression_changed",
    ),
    "do_remind_alert": (
        lambda m, p: actions.do_remind_alert(**p.at(m), fingerprint=p.fingerprint, now=timezone.now() + LATER),
        "alerts.alert_reminded",
    ),
    "do_create_silence": (
        lambda m, p: actions.do_create_silence(**p.at(m), fields=silence_fields(2)),
        "alerts.silence_created",
    ),
    "do_end_silence": (lambda m, p: actions.do_end_silence(**p.at(m), silence_id=p.silence_id), "alerts.silence_ended"),
    "do_expire_silence": (
        lambda m, p: actions.do_expire_silence(**p.at(m), silence_id=p.silence_id, now=timezone.now() + LATER),
        "alerts.silence_expired",
    ),
    "do_receive_alertmanager": (
        lambda m, p: actions.do_receive_alertmanager(**p.at(m), body=alertmanager_body("resolved")),
        "alerts.alert_resolved",
    ),
}


def test_every_writer_of_alerts_is_covered() -> None:
    assert set(WRITERS) == {name for name in vars(actions) if name.startswith("do_")}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_without_the_point_is_refused_and_nothing_is_appended(place: Place, writer: str) -> None:
    write, _ = WRITERS[writer]
    meta = as_user(user_lacking("alert.manage", place.tenant), place.tenant.id, place.workspace_id)
    error = refused(lambda: write(meta, place), "PERMISSION_DENIED")
    assert error.details["permission"] == "alert.manage"


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_actor_without_a_credential_is_refused(place: Place, writer: str) -> None:
    write, _ = WRITERS[writer]
    meta = as_user(user_holding("alert.manage", place.tenant), place.tenant.id, place.workspace_id)
    refused(lambda: write(without_credential(meta), place), "PERMISSION_DENIED")


@pytest.mark.parametrize("writer", WRITERS)
def test_metadata_bound_to_another_tenant_is_not_found(place: Place, writer: str) -> None:
    write, _ = WRITERS[writer]
    user = user_holding("alert.manage", place.tenant)
    refused(lambda: write(as_user(user, place.other_tenant_id, place.other_workspace_id), place), "NOT_FOUND")
    system = Metadata.for_system(place.other_tenant_id, reason="tests", workspace_id=place.other_workspace_id)
    refused(lambda: write(system, place), "NOT_FOUND")


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_holding_the_point_writes(place: Place, writer: str) -> None:
    write, event_type = WRITERS[writer]
    user = user_holding("alert.manage", place.tenant)
    before = Event.objects.order_by("-position").values_list("position", flat=True).first()
    write(as_user(user, place.tenant.id, place.workspace_id), place)
    written = list(Event.objects.filter(position__gt=before))
    assert event_type in {e.event_type for e in written}
    assert {(e.tenant_id, e.workspace_id) for e in written} == {(place.tenant.id, place.workspace_id)}
    assert {Actor(e.actor_kind, e.actor_id) for e in written} == {Actor("user", user.get_username())}
