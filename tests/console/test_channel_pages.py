"""The console's notification channel pages: a webhook channel created from the form to a real local receiver is
sent a test and its page shows the delivery delivered; its URL and signing secret never appear in any page (masked
as the API shows them); edit, disable, enable, delete and redeliver go through the notifications writers; a viewer
has no button and is refused (and audited); another tenant's channel is 404; every page is in Chinese."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from controlplane.audit.models import AuditRecord
from controlplane.notifications import tasks
from controlplane.notifications.models import Channel, Delivery
from tests.api.world import world_for_module
from tests.console.test_pages import client_of
from tests.console.test_translations import untranslated
from tests.notifications.receiver import receiver

pytestmark = pytest.mark.django_db

TOKEN = "console-hook-token-5f2a9c"
SIGNING = "console-signing-secret-81d7"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def latest_audit(action: str) -> AuditRecord:
    return AuditRecord.objects.filter(action=f"console.{action}").latest("id")


def test_a_webhook_channel_from_the_form_is_sent_a_test_and_its_page_shows_it_delivered_without_its_secrets(world):
    client = client_of(world.users["operator"])
    with receiver(lambda request: (200, {})) as hook:
        url = f"{hook.url}/hook?token={TOKEN}"
        created = client.post(
            reverse("admin:console-channel-create"),
            {
                "workspace": world.acme_ws.id,
                "kind": "webhook",
                "name": "ops hook",
                "language": "zh-Hans",
                "webhook_url": url,
                "signing_secret": SIGNING,
            },
        )
        channel = Channel.unscoped.get(name="ops hook", deleted=False)
        page_url = reverse("admin:console-channel", args=[channel.id])
        assert created.status_code == 302 and created["Location"] == page_url
        assert latest_audit("create_notification_channel").resource_id == channel.id
        page = client.get(page_url).content.decode()
        assert f"http://127.0.0.1:{hook.port}/****" in page and 'data-action="test"' in page
        fragment_url = reverse("admin:console-channel-deliveries", args=[channel.id])
        assert f'<div id="channel-deliveries" data-fragment="{fragment_url}" data-refresh="2">' in page
        tested = client.post(reverse("admin:console-channel-test", args=[channel.id]))
        delivery = Delivery.unscoped.get(channel_id=channel.id, test=True)
        assert tested.status_code == 302 and tested["Location"] == f"{page_url}#delivery-{delivery.id}"
        assert delivery.state == "queued"
        queued = client.get(reverse("admin:console-channel-deliveries", args=[channel.id])).content.decode()
        assert 'data-state="queued"' in queued and "data-settled" not in queued  # the page keeps polling
        tasks.deliver(delivery.id)  # what the worker does after the commit
        [request] = hook.requests
        assert request.query["token"] == TOKEN and request.json()["notice"]["kind"] == "test"
    pages = [client.get(page_url).content.decode(), client.get(reverse("admin:console-channels")).content.decode()]
    fragment = client.get(reverse("admin:console-channel-deliveries", args=[channel.id])).content.decode()
    assert f'id="delivery-{delivery.id}"' in pages[0] and 'data-state="delivered"' in pages[0]
    assert "data-settled" in fragment and 'data-state="delivered"' in fragment
    for html in (*pages, fragment):
        assert TOKEN not in html and SIGNING not in html
    assert latest_audit("test_notification_channel").result == "ok"


def test_a_refused_channel_form_comes_back_at_its_field_without_the_secrets(world):
    client = client_of(world.users["operator"])
    answer = client.post(
        reverse("admin:console-channel-create"),
        {
            "workspace": world.acme_ws.id,
            "kind": "webhook",
            "name": "kept name",
            "language": "en",
            "webhook_url": f"ftp://example.com/{TOKEN}",
            "signing_secret": SIGNING,
        },
    )
    page = answer.content.decode()
    assert answer.status_code == 400 and 'data-field="webhook_url"' in page and "NOTIFICATION_CHANNEL_INVALID" in page
    assert 'value="kept name"' in page and TOKEN not in page and SIGNING not in page
    assert not Channel.unscoped.filter(name="kept name").exists()
    assert latest_audit("create_notification_channel").error_code == "NOTIFICATION_CHANNEL_INVALID"
    email = client.post(
        reverse("admin:console-channel-create"),
        {
            "workspace": world.acme_ws.id,
            "kind": "email",
            "name": "mail",
            "language": "en",
            "recipients": "not-an-address",
        },
    )
    assert email.status_code == 400 and 'data-field="recipients"' in email.content.decode()
    assert "not-an-address" in email.content.decode()


def test_a_channel_is_edited_disabled_enabled_and_deleted_and_a_dead_delivery_redelivered(world):
    channel_id = world.objects["acme_channel"]
    client = client_of(world.users["operator"])
    before = Channel.unscoped.get(id=channel_id)
    save = reverse("admin:console-channel-save", args=[channel_id])
    assert (
        client.post(
            save, {"name": "renamed hook", "language": "en", "webhook_url": "", "signing_secret": ""}
        ).status_code
        == 302
    )
    after = Channel.unscoped.get(id=channel_id)
    assert after.name == "renamed hook" and after.secrets == before.secrets  # empty secret fields: unchanged
    taken = client.post(save, {"name": "paused hook", "language": "en"})
    assert taken.status_code == 400 and 'data-field="name"' in taken.content.decode()

    client.post(reverse("admin:console-channel-disable", args=[channel_id]))
    assert Channel.unscoped.get(id=channel_id).enabled is False
    page = client.get(reverse("admin:console-channel", args=[channel_id])).content.decode()
    assert 'data-action="test"' not in page and 'data-action="enable"' in page
    client.post(reverse("admin:console-channel-enable", args=[channel_id]))
    assert Channel.unscoped.get(id=channel_id).enabled is True

    dead = world.objects["acme_delivery"]
    assert 'data-action="redeliver"' in client.get(reverse("admin:console-channel", args=[channel_id])).content.decode()
    assert client.post(reverse("admin:console-delivery-redeliver", args=[dead])).status_code == 302
    assert Delivery.unscoped.get(id=dead).state == "queued"
    again = client.post(reverse("admin:console-delivery-redeliver", args=[dead]), follow=True)
    assert "NOTIFICATION_DELIVERY_NOT_DEAD" in again.content.decode()

    client.post(reverse("admin:console-channel-delete", args=[channel_id]))
    assert Channel.unscoped.get(id=channel_id).deleted is True
    assert client.get(reverse("admin:console-channel", args=[channel_id])).status_code == 404
    assert f'data-channel="{channel_id}"' not in client.get(reverse("admin:console-channels")).content.decode()


def test_a_viewer_has_no_button_and_forged_posts_are_refused_and_audited(world):
    channel_id = world.objects["acme_channel"]
    client = client_of(world.users["viewer"])
    page = client.get(reverse("admin:console-channel", args=[channel_id])).content.decode()
    assert "data-action" not in page and reverse("admin:console-channel-save", args=[channel_id]) not in page
    assert "data-action" not in client.get(reverse("admin:console-channels")).content.decode()
    refused = client.post(reverse("admin:console-channel-test", args=[channel_id]))
    assert refused.status_code == 403 and "alert.manage" in refused.content.decode()
    assert not Delivery.unscoped.filter(channel_id=channel_id, test=True).exists()
    record = latest_audit("test_notification_channel")
    assert (record.result, record.error_code, record.resource_id) == ("denied", "PERMISSION_DENIED", channel_id)
    assert client.post(reverse("admin:console-channel-delete", args=[channel_id])).status_code == 403
    assert (
        client.post(reverse("admin:console-delivery-redeliver", args=[world.objects["acme_delivery"]])).status_code
        == 403
    )
    assert Channel.unscoped.get(id=channel_id).deleted is False
    assert Delivery.unscoped.get(id=world.objects["acme_delivery"]).state == "dead"


def test_another_tenants_channel_and_delivery_are_not_found(world):
    client = client_of(world.users["outsider"])
    channel_id = world.objects["acme_channel"]
    assert client.get(reverse("admin:console-channel", args=[channel_id])).status_code == 404
    assert client.post(reverse("admin:console-channel-test", args=[channel_id])).status_code == 404
    assert (
        client.post(reverse("admin:console-delivery-redeliver", args=[world.objects["acme_delivery"]])).status_code
        == 404
    )
    assert channel_id not in client.get(reverse("admin:console-channels")).content.decode()
    assert latest_audit("redeliver_notification").error_code == "NOT_FOUND"


def test_the_channel_pages_in_chinese_have_no_english_of_their_own(world):
    client = client_of(world.users["owner"])
    urls = [
        reverse("admin:console-channels"),
        reverse("admin:console-channel-new") + "?kind=email",
        reverse("admin:console-channel-new") + "?kind=dingtalk",
        reverse("admin:console-channel", args=[world.objects["acme_channel"]]),
        reverse("admin:console-channel", args=[world.objects["acme_disabled_channel"]]),
        reverse("admin:console-channel-deliveries", args=[world.objects["acme_channel"]]),
    ]
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in urls[:-1]:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            found = untranslated(response.content.decode())
            assert bool(found) == expect_english, (language, url, found)
        fragment = client.get(urls[-1]).content.decode()  # no #console-page of its own: wrapped as the page has it
        assert bool(untranslated(f'<div id="console-page">{fragment}</div>')) == expect_english
