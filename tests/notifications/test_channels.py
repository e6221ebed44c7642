"""Channels through the log: create, update, disable, enable, delete; their secrets stored as secrets and shown
masked; who may change and see them."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.eventlog.models import Event
from controlplane.iam.access import AccessDenied
from controlplane.notifications import actions
from controlplane.notifications.domain.errors import ChannelExists, ChannelNotFound, NotificationError
from controlplane.notifications.models import Channel
from controlplane.secrets.models import Secret
from controlplane.secrets.selectors import resolve_secret_refs
from tests.notifications.conftest import make_place

pytestmark = pytest.mark.django_db

URL = "https://oapi.dingtalk.com/robot/send?access_token=tok-0123456789abcdef"
SIGNING = "SECsigning-0123456789"


def _types(channel_id: str) -> list[str]:
    return list(
        Event.objects.filter(stream_id=f"channel-{channel_id}").order_by("version").values_list("event_type", flat=True)
    )


def test_a_channel_through_its_life_in_the_log(place):
    channel_id = actions.do_create_channel(
        metadata=place.admin,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="ops robot",
        kind="dingtalk",
        webhook_url=URL,
        signing_secret=SIGNING,
    )
    channel = Channel.unscoped.get(id=channel_id)
    assert channel.masked == {"webhook_url": "https://oapi.dingtalk.com/****", "signing_secret": "****"}
    names = channel.secrets
    assert resolve_secret_refs(place.tenant_id, place.workspace_id, names.values()) == {
        names["webhook_url"]: URL,
        names["signing_secret"]: SIGNING,
    }
    actions.do_update_channel(
        metadata=place.admin,
        channel_id=channel_id,
        changes={"language": "zh-Hans", "webhook_url": URL + "-new", "signing_secret": ""},
    )
    channel.refresh_from_db()
    assert (channel.language, channel.masked) == ("zh-Hans", {"webhook_url": "https://oapi.dingtalk.com/****"})
    assert resolve_secret_refs(place.tenant_id, place.workspace_id, [names["webhook_url"]])[names["webhook_url"]] == (
        URL + "-new"
    )
    assert not Secret.unscoped.filter(name=names["signing_secret"], deleted=False).exists()
    actions.do_disable_channel(metadata=place.admin, channel_id=channel_id, reason="maintenance")
    channel.refresh_from_db()
    assert (channel.enabled, channel.disabled_reason) == (False, "maintenance")
    actions.do_enable_channel(metadata=place.admin, channel_id=channel_id)
    actions.do_delete_channel(metadata=place.admin, channel_id=channel_id)
    channel.refresh_from_db()
    assert channel.deleted
    assert not Secret.unscoped.filter(name__startswith=f"notification-channel.{channel_id}.", deleted=False).exists()
    assert _types(channel_id) == [
        "notifications.channel_created",
        "notifications.channel_updated",
        "notifications.channel_disabled",
        "notifications.channel_enabled",
        "notifications.channel_deleted",
    ]
    payloads = "".join(Event.objects.values_list("payload", flat=True))
    assert "tok-0123456789abcdef" not in payloads and SIGNING not in payloads
    # the secrets were stored by the control plane for the channel, within the admin's request
    secret_events = Event.objects.filter(stream_type="secrets.secret", event_type="secrets.secret_created")
    assert {(e.actor_kind, e.actor_id, e.request_id) for e in secret_events} == {
        ("system", "notifications.channel_secret", "req-n")
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "dingtalk"}, "webhook_url"),
        ({"kind": "webhook", "webhook_url": "http://hooks.example/x"}, "signing_secret"),
        ({"kind": "wecom", "webhook_url": "ftp://x/y"}, "webhook_url"),
        ({"kind": "wecom", "webhook_url": "http://x/y", "signing_secret": "s"}, "signing_secret"),
        ({"kind": "email", "recipients": ["not an address"]}, "recipients"),
        ({"kind": "email"}, "recipients"),
        ({"kind": "sms"}, "kind"),
        ({"kind": "email", "recipients": ["a@example.com"], "language": "fr"}, "language"),
    ],
)
def test_bad_channels_are_refused_with_the_field_and_nothing_is_written(place, fields, field):
    before = Event.objects.count()
    with pytest.raises(NotificationError) as error:
        actions.do_create_channel(
            metadata=place.admin, tenant_id=place.tenant_id, workspace_id=place.workspace_id, name="bad", **fields
        )
    assert error.value.code == "NOTIFICATION_CHANNEL_INVALID"
    assert error.value.details["field"] == field
    assert Event.objects.count() == before


def test_names_are_unique_per_workspace_and_viewers_cannot_change(place):
    make = {"tenant_id": place.tenant_id, "workspace_id": place.workspace_id, "kind": "email"}
    actions.do_create_channel(metadata=place.admin, name="mail", recipients=["a@example.com"], **make)
    with pytest.raises(ChannelExists):
        actions.do_create_channel(metadata=place.admin, name="mail", recipients=["b@example.com"], **make)
    with pytest.raises(AccessDenied):
        actions.do_create_channel(metadata=place.viewer, name="other", recipients=["b@example.com"], **make)


def test_another_tenant_cannot_reach_a_channel(place):
    beta = make_place("beta")
    channel_id = actions.do_create_channel(
        metadata=place.admin,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="mail",
        kind="email",
        recipients=["a@example.com"],
    )
    with pytest.raises(ChannelNotFound):
        actions.do_disable_channel(metadata=beta.admin, channel_id=channel_id)
    with pytest.raises(ChannelNotFound):
        actions.do_send_test_notification(metadata=beta.meta, channel_id=channel_id)


def _client(place) -> Client:  # type: ignore[no-untyped-def]
    token = RefreshToken.for_user(place.admin.principal).access_token
    return Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_api_takes_secrets_in_and_shows_them_masked_only(place, django_capture_on_commit_callbacks):
    client = _client(place)
    base = "/api/v1/tenants/acme/workspaces/etl/notification-channels/"
    created = client.post(
        base,
        {"name": "ops", "kind": "feishu", "webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/hook-abcdef"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secrets"] == {"webhook_url": "https://open.feishu.cn/****"}
    assert "hook-abcdef" not in created.content.decode()
    listed = client.get(base)
    assert [c["name"] for c in listed.json()["results"]] == ["ops"] and "hook-abcdef" not in listed.content.decode()
    stale = client.patch(
        f"{base}{body['id']}/", {"language": "zh-Hans"}, content_type="application/json", HTTP_IF_MATCH='"7"'
    )
    assert stale.status_code == 412
    with django_capture_on_commit_callbacks(execute=False) as queued:
        test = client.post(f"{base}{body['id']}/test/")
    assert test.status_code == 202 and test.json()["state"] == "queued" and test.json()["test"] is True
    assert len(queued) == 1
    bad = client.post(base, {"name": "x", "kind": "wecom"}, content_type="application/json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "NOTIFICATION_CHANNEL_INVALID")
    deliveries = client.get("/api/v1/tenants/acme/workspaces/etl/notification-deliveries/?state=queued")
    assert [d["id"] for d in deliveries.json()["results"]] == [test.json()["id"]]
    assert client.get("/api/v1/tenants/acme/workspaces/etl/notification-deliveries/?state=dead").json()["results"] == []
    refused = client.post(f"/api/v1/tenants/acme/workspaces/etl/notification-deliveries/{test.json()['id']}/redeliver/")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "NOTIFICATION_DELIVERY_NOT_DEAD")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://169.254.169.254/latest/meta-data", "cloud-metadata"),
        ("http://metadata.google.internal/computeMetadata", "cloud-metadata"),
        ("http://127.0.0.1:8080/hook", "denied-cidr"),
    ],
)
def test_a_webhook_url_the_policy_refuses_without_a_lookup_is_refused_at_once(place, url, rule):
    from django.test.utils import override_settings

    from controlplane.outbound.policy import OutboundTargetForbidden

    before = Event.objects.count()
    with (
        override_settings(CONTROLPLANE_OUTBOUND_DENY_CIDRS=["127.0.0.0/8"]),
        pytest.raises(OutboundTargetForbidden) as error,
    ):
        actions.do_create_channel(
            metadata=place.admin,
            tenant_id=place.tenant_id,
            workspace_id=place.workspace_id,
            name="sneaky",
            kind="webhook",
            webhook_url=url,
            signing_secret="s",
        )
    assert (error.value.details["rule"], error.value.details["field"]) == (rule, "webhook_url")
    assert Event.objects.count() == before and not Secret.unscoped.exists()
