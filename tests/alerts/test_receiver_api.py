"""The Alertmanager receiver and the alerts API over real HTTP (Django's test client through the whole middleware
stack), authenticated the way deploy/prometheus/alertmanager.yml does: an API token as the bearer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from controlplane.alerts.models import Alert
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.tenancy.models import Tenant
from tests.alerts.helpers import channel, make_place, settle
from tests.api.endpoints import alertmanager_body
from tests.metrics.tools import DEPLOY, require, run

pytestmark = pytest.mark.django_db

ALERTMANAGER = DEPLOY / "prometheus" / "alertmanager.yml"


def receiver_url() -> str:
    """The path of the control plane's webhook in the example Alertmanager configuration."""
    config = yaml.safe_load(ALERTMANAGER.read_text())
    [receiver] = [r for r in config["receivers"] if r["name"] == "controlplane"]
    [webhook] = receiver["webhook_configs"]
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    return urlsplit(webhook["url"]).path


def bearer(place, role: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user(f"{role}-am")
    tenant = Tenant.objects.get(id=place.tenant_id)
    system = Metadata.for_system(None, reason="tests")
    iam.do_grant_role(user=user, tenant=tenant, role=role, metadata=system)
    _, text = iam.do_create_api_token(metadata=system, user=user, tenant=tenant, name="alertmanager")
    return {"HTTP_AUTHORIZATION": f"Bearer {text}"}


@pytest.fixture
def place():  # type: ignore[no-untyped-def]
    return make_place()  # tenant "acme", workspace "etl": the example configuration's URL


def test_the_example_alertmanager_config_is_valid_and_points_at_the_receiver(tmp_path: Path):
    amtool = require("amtool")
    checked = run([amtool, "check-config", str(ALERTMANAGER)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert resolve(receiver_url()).url_name == "alert-receiver"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(ALERTMANAGER.read_text().replace("type: Bearer", "type: Bearer\n            username: x"))
    assert run([amtool, "check-config", str(broken)]).returncode != 0


def test_alerts_from_alertmanager_fire_resolve_and_are_silenced_and_acknowledged_here(place):
    client = Client(SERVER_NAME="localhost")
    operator = bearer(place, "operator")
    url = receiver_url()
    post = {"content_type": "application/json", **operator}
    first = client.post(url, alertmanager_body(), **post)
    assert first.status_code == 200, first.content
    assert first.json() == {"fired": 1, "resolved": 0, "unchanged": 0}
    assert client.post(url, alertmanager_body(), **post).json() == {"fired": 0, "resolved": 0, "unchanged": 1}
    base = "/api/v1/tenants/acme/workspaces/etl"
    [listed] = client.get(f"{base}/alerts/?state=firing&source=prometheus&cluster=zeta", **operator).json()["results"]
    assert listed["labels"]["source"] == "prometheus"
    assert (listed["rule_name"], listed["severity"], listed["summary"]) == (
        "SeaTunnelNodeDown",
        "critical",
        "SeaTunnel node 10.0.0.5:8080 is down",
    )
    assert listed["annotations"]["am_fingerprint"] == "6e0c1d6b8a3f2e11"
    assert listed["starts_at"].startswith("2026-12-04T10:00:00.123456")
    # silenced here like ours
    silence = client.post(
        f"{base}/silences/",
        {
            "matchers": [{"name": "alertname", "op": "=~", "value": "SeaTunnel.*"}],
            "ends_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            "reason": "node replaced tonight",
        },
        **post,
    )
    assert silence.status_code == 201, silence.content
    assert silence.json()["author"].startswith("token:")  # the API token that made it
    settle()
    detail = client.get(f"{base}/alerts/{listed['id']}/", **operator)
    assert (detail.json()["silenced"], detail.json()["silenced_by"]) == (True, [silence.json()["id"]])
    assert client.get(f"{base}/alerts/?silenced=true", **operator).json()["results"][0]["id"] == listed["id"]
    # acknowledged, with the stale-version answer for a racing second click
    acked = client.post(
        f"{base}/alerts/{listed['id']}/acknowledge/", {"comment": "on it"}, HTTP_IF_MATCH=detail["ETag"], **post
    )
    assert acked.status_code == 200, acked.content
    assert (acked.json()["acknowledged"], acked.json()["acknowledge_comment"]) == (True, "on it")
    stale = client.post(f"{base}/alerts/{listed['id']}/acknowledge/", {}, HTTP_IF_MATCH=detail["ETag"], **post)
    assert stale.status_code == 412
    # resolved by Alertmanager
    resolved = client.post(url, alertmanager_body("resolved"), **post)
    assert resolved.json() == {"fired": 0, "resolved": 1, "unchanged": 0}
    alert = Alert.unscoped.get(id=listed["id"])
    assert (alert.status, alert.resolved_reason, alert.ends_at.isoformat()) == (
        "resolved",
        "receiver",
        "2026-12-04T10:05:00+00:00",
    )
    assert client.post(f"{base}/alerts/{listed['id']}/acknowledge/", {}, **post).json()["error"]["code"] == (
        "ALERT_NOT_FIRING"
    )


def test_a_malformed_body_is_a_400_and_writes_nothing(place):
    client = Client(SERVER_NAME="localhost")
    operator = bearer(place, "operator")
    good = alertmanager_body()
    bad = alertmanager_body(alertname="Second")
    bad["alerts"][0]["startsAt"] = "yesterday"
    body = {**good, "alerts": good["alerts"] + bad["alerts"]}
    before = Event.objects.count()
    response = client.post(receiver_url(), body, content_type="application/json", **operator)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("ALERT_RECEIVER_PAYLOAD_INVALID", "alerts[1].startsAt")
    assert Event.objects.count() == before and not Alert.unscoped.exists()  # not even the good first alert
    not_json = client.post(receiver_url(), "[1, 2", content_type="application/json", **operator)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "MALFORMED_REQUEST"
    viewer = client.post(receiver_url(), good, content_type="application/json", **bearer(place, "viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["details"]["permission"] == "alert.manage"


def test_rules_through_the_api_refuse_bad_input_with_the_field(place):
    client = Client(SERVER_NAME="localhost")
    admin = {"content_type": "application/json", **bearer(place, "admin")}
    base = "/api/v1/tenants/acme/workspaces/etl/alert-rules/"
    bad = client.post(base, {"name": "slow", "kind": "low_throughput", "params": {"below": "fast"}}, **admin)
    assert bad.status_code == 400
    assert (bad.json()["error"]["code"], bad.json()["error"]["details"]["field"]) == (
        "ALERT_RULE_INVALID",
        "params.below",
    )
    made = client.post(base, {"name": "slow", "kind": "low_throughput", "params": {"below": 5}}, **admin)
    assert made.status_code == 201, made.content
    assert made.json()["params"] == {"metric": "SourceReceivedQPS", "below": 5.0}
    again = client.post(base, {"name": "slow", "kind": "run_failed"}, **admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ALERT_RULE_EXISTS")
    rule_url = f"{base}{made.json()['id']}/"
    kind = client.patch(rule_url, {"kind": "run_failed"}, **admin)
    assert kind.json()["error"]["details"]["field"] == "kind"
    unknown = client.patch(rule_url, {"channel_ids": ["wecom-oncall"]}, **admin)
    assert (unknown.status_code, unknown.json()["error"]["details"]["field"]) == (400, "channel_ids")
    oncall = channel(place, name="wecom oncall")
    off = client.patch(rule_url, {"enabled": False, "channel_ids": [oncall]}, **admin)
    assert (off.json()["enabled"], off.json()["channel_ids"], off["ETag"]) == (False, [oncall], '"3"')


def test_creating_a_rule_or_a_silence_honours_idempotency_keys(place):
    client = Client(SERVER_NAME="localhost")
    admin = {"content_type": "application/json", **bearer(place, "admin")}
    base = "/api/v1/tenants/acme/workspaces/etl"
    body = {"name": "failed", "kind": "run_failed"}
    first = client.post(f"{base}/alert-rules/", body, HTTP_IDEMPOTENCY_KEY="rule-1", **admin)
    again = client.post(f"{base}/alert-rules/", body, HTTP_IDEMPOTENCY_KEY="rule-1", **admin)
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json()["id"] == again.json()["id"]
    silence = {
        "matchers": [{"name": "cluster", "op": "!=", "value": ""}],
        "ends_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        "reason": "all clusters: night work",
    }
    made = [client.post(f"{base}/silences/", silence, HTTP_IDEMPOTENCY_KEY="s-1", **admin) for _ in range(2)]
    assert made[0].json()["id"] == made[1].json()["id"]
    assert Event.objects.filter(event_type="alerts.silence_created").count() == 1
