"""Deliveries to real local receivers: each robot's documented payload, with the signature recomputed here from the
secret (not with the code under test); email to a real SMTP server in both languages; retries, dead letters,
redelivery, idempotency, the outbound policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import socket
import time

import pytest
from django.test.utils import override_settings

from controlplane.eventlog.models import Event
from controlplane.notifications import actions, tasks
from controlplane.notifications.domain.errors import ChannelDisabled
from controlplane.notifications.models import Delivery
from tests.notifications.conftest import firing, resolved
from tests.notifications.receiver import receiver

pytestmark = pytest.mark.django_db

DING_TOKEN = "ding-access-token-6f1e0c"
DING_SECRET = "SECding-signing-secret-91a7"
WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
FEISHU_HOOK = "feishu-hook-b1c2d3e4"
FEISHU_SECRET = "feishu-signing-secret-77"
HOOK_SECRET = "webhook-signing-secret-3c9"
ALL_SECRETS = (DING_TOKEN, DING_SECRET, WECOM_KEY, FEISHU_HOOK, FEISHU_SECRET, HOOK_SECRET)
OK = {"errcode": 0, "errmsg": "ok"}


def channel(place, kind: str, url: str = "", **fields) -> str:  # type: ignore[no-untyped-def]
    if url:
        fields["webhook_url"] = url
    return actions.do_create_channel(
        metadata=place.admin,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name=f"{kind} channel",
        kind=kind,
        **fields,
    )


def send(place, channel_id: str, notice=None, key: str = "k1") -> Delivery:  # type: ignore[no-untyped-def]
    delivery_id = actions.do_send_notification(
        metadata=place.meta, channel_id=channel_id, notice=notice or firing(), dedup_key=key
    )
    tasks.deliver(delivery_id)
    return Delivery.unscoped.get(id=delivery_id)


def test_dingtalk_gets_signed_markdown_as_documented(place):
    with receiver(lambda r: (200, OK)) as robot:
        channel_id = channel(
            place, "dingtalk", f"{robot.url}/robot/send?access_token={DING_TOKEN}", signing_secret=DING_SECRET
        )
        delivery = send(place, channel_id)
    assert delivery.state == "delivered" and delivery.attempts == 1
    [request] = robot.requests
    assert request.path == "/robot/send"
    assert request.query["access_token"] == DING_TOKEN
    timestamp = request.query["timestamp"]
    assert abs(int(timestamp) - time.time() * 1000) < 3_600_000  # milliseconds, within DingTalk's hour
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected  # parse_qs undid the URL encoding
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"].startswith("[Firing][Critical] RunFailed")
    assert "run 42 of job nightly failed" in body["markdown"]["text"]
    assert "[Open the alert](http://controlplane.example/alerts/1)" in body["markdown"]["text"]


def test_wecom_gets_markdown_with_its_key(place):
    with receiver(lambda r: (200, OK)) as robot:
        channel_id = channel(place, "wecom", f"{robot.url}/cgi-bin/webhook/send?key={WECOM_KEY}", language="zh-Hans")
        delivery = send(place, channel_id, resolved())
    assert delivery.state == "delivered"
    [request] = robot.requests
    assert request.path == "/cgi-bin/webhook/send" and request.query == {"key": WECOM_KEY}
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert "**[已恢复] RunFailed**" in body["markdown"]["content"]
    assert "恢复时间" in body["markdown"]["content"]


def test_feishu_gets_a_signed_interactive_card(place):
    with receiver(lambda r: (200, {"code": 0, "msg": "success", "data": {}})) as robot:
        channel_id = channel(
            place, "feishu", f"{robot.url}/open-apis/bot/v2/hook/{FEISHU_HOOK}", signing_secret=FEISHU_SECRET
        )
        delivery = send(place, channel_id)
    assert delivery.state == "delivered"
    [request] = robot.requests
    assert request.path == f"/open-apis/bot/v2/hook/{FEISHU_HOOK}"
    body = request.json()
    timestamp = body["timestamp"]
    assert isinstance(timestamp, str) and abs(int(timestamp) - time.time()) < 3600  # seconds
    expected = base64.b64encode(
        hmac.new(f"{timestamp}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body["sign"] == expected
    assert body["msg_type"] == "interactive"
    assert body["card"]["header"]["title"] == {
        "tag": "plain_text",
        "content": "[Firing][Critical] RunFailed: run 42 of job nightly failed",
    }
    assert body["card"]["header"]["template"] == "red"
    [element] = body["card"]["elements"]
    assert element["text"]["tag"] == "lark_md" and "run 42 of job nightly failed" in element["text"]["content"]


def test_webhook_posts_the_notice_with_a_verifiable_signature(place):
    with receiver(lambda r: (204, b"")) as hook:
        channel_id = channel(place, "webhook", f"{hook.url}/hooks/alerts", signing_secret=HOOK_SECRET)
        delivery = send(place, channel_id)
    assert delivery.state == "delivered"
    [request] = hook.requests
    timestamp = request.headers["x-seatunnel-timestamp"]
    mac = hmac.new(HOOK_SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-seatunnel-signature"], f"sha256={mac}")
    assert request.headers["x-seatunnel-delivery"] == delivery.id
    body = request.json()
    assert body["delivery_id"] == delivery.id and body["version"] == 1
    assert body["notice"] == {
        "kind": "alert",
        "status": "firing",
        "severity": "critical",
        "name": "RunFailed",
        "summary": "run 42 of job nightly failed",
        "labels": {"cluster": "zeta", "job": "nightly"},
        "fingerprint": "f" * 16,
        "starts_at": "2026-12-04T18:00:00+00:00",
        "ends_at": None,
        "url": "http://controlplane.example/alerts/1",
        "tenant_name": "Acme",
    }


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("en", "[Firing][Critical] RunFailed: run 42 of job nightly failed", "Alert RunFailed is firing."),
        ("zh-Hans", "[告警中][严重] RunFailed：run 42 of job nightly failed", "告警 RunFailed 正在触发。"),  # noqa: RUF001
    ],
)
def test_email_reaches_a_real_smtp_server_in_both_languages(place, smtp_server, language, subject, phrase):
    channel_id = channel(place, "email", recipients=["ops@example.com", "dba@example.com"], language=language)
    delivery = send(place, channel_id)
    assert delivery.state == "delivered", delivery.last_error
    [message] = smtp_server.messages
    assert smtp_server.envelopes == [("alerts@controlplane.example", ["ops@example.com", "dba@example.com"])]
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(message["Subject"]))) == subject
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert phrase in parts["text/plain"]
    assert "<html" in parts["text/html"] and "RunFailed" in parts["text/html"]


def test_an_unreachable_mail_server_retries_then_dies(place, smtp_server):
    channel_id = channel(place, "email", recipients=["ops@example.com"])
    with override_settings(EMAIL_PORT=_closed_port()):
        delivery = send(place, channel_id)
        assert (delivery.state, delivery.last_error_code) == ("retrying", "NOTIFICATION_SMTP_ERROR")
        for _ in range(2):
            tasks.deliver(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("dead", 3)


def test_a_robot_answering_200_with_an_error_fails_and_ends_dead_after_the_attempts(place, caplog):
    caplog.set_level(logging.DEBUG)
    with receiver(lambda r: (200, {"errcode": 310000, "errmsg": f"sign not match {DING_SECRET}"})) as robot:
        channel_id = channel(
            place, "dingtalk", f"{robot.url}/robot/send?access_token={DING_TOKEN}", signing_secret=DING_SECRET
        )
        delivery = send(place, channel_id)
        assert (delivery.state, delivery.attempts, delivery.last_error_code) == ("retrying", 1, "NOTIFICATION_REJECTED")
        assert delivery.next_attempt_at is not None
        tasks.deliver(delivery.id)
        tasks.deliver(delivery.id)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("dead", 3)
        assert tasks.deliver(delivery.id) == "dead"  # a dead delivery is not sent again
        assert len(robot.requests) == 3
    assert "310000" in delivery.last_error
    # the robot echoed the secret: it is redacted in what is kept and never logged
    assert DING_SECRET not in delivery.last_error and "****" in delivery.last_error
    assert DING_SECRET not in caplog.text and DING_TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}),
        ("feishu", {"code": 19021, "msg": "sign match fail"}),
    ],
)
def test_wecom_and_feishu_errors_in_a_200_are_failures(place, kind, answer):
    with receiver(lambda r: (200, answer)) as robot:
        delivery = send(place, channel(place, kind, f"{robot.url}/hook/{WECOM_KEY}"))
    assert (delivery.state, delivery.last_error_code) == ("retrying", "NOTIFICATION_REJECTED")


def test_http_500_then_dead_then_redelivered(place):
    answers = iter([500, 500, 500, 200])
    with receiver(lambda r: (next(answers), {})) as hook:
        channel_id = channel(place, "webhook", f"{hook.url}/h", signing_secret=HOOK_SECRET)
        delivery = send(place, channel_id)
        assert (delivery.state, delivery.last_error_code) == ("retrying", "NOTIFICATION_HTTP_ERROR")
        assert delivery.last_error == "the receiver answered HTTP 500"
        tasks.deliver(delivery.id)
        tasks.deliver(delivery.id)
        delivery.refresh_from_db()
        assert delivery.state == "dead"
        actions.do_redeliver_notification(metadata=place.admin, delivery_id=delivery.id)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("queued", 0)
        assert tasks.deliver(delivery.id) == "delivered"
    assert len(hook.requests) == 4


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the socket is: nothing listens there


def test_an_unreachable_channel_is_retried_then_dead_with_a_stable_code(place):
    channel_id = channel(place, "webhook", f"http://127.0.0.1:{_closed_port()}/h", signing_secret=HOOK_SECRET)
    delivery = send(place, channel_id)
    assert (delivery.state, delivery.last_error_code) == ("retrying", "NOTIFICATION_UNREACHABLE")
    assert tasks.requeue_due() == 1  # the beat hands the due retry to a worker
    tasks.deliver(delivery.id)
    tasks.deliver(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error_code) == ("dead", 3, "NOTIFICATION_UNREACHABLE")


def test_a_retry_that_is_not_due_is_not_sent(place):
    with override_settings(CONTROLPLANE_NOTIFY_BACKOFF_SECONDS=3600), receiver(lambda r: (500, {})) as hook:
        delivery = send(place, channel(place, "webhook", f"{hook.url}/h", signing_secret=HOOK_SECRET))
        assert delivery.state == "retrying"
        assert tasks.deliver(delivery.id) == "retrying"
        assert tasks.requeue_due() == 0
    assert len(hook.requests) == 1


def test_the_outbound_policy_refuses_and_nothing_is_sent(place):
    with receiver(lambda r: (200, {})) as hook:
        channel_id = channel(place, "webhook", f"{hook.url}/h", signing_secret=HOOK_SECRET)
        # the policy changed after the channel was made (loopback denied): checked at each send, after DNS
        with override_settings(CONTROLPLANE_OUTBOUND_DENY_CIDRS=["127.0.0.0/8"]):
            delivery = send(place, channel_id)
    assert hook.requests == []
    assert (delivery.state, delivery.last_error_code) == ("dead", "OUTBOUND_TARGET_FORBIDDEN")
    assert delivery.last_error == "the outbound policy refuses the channel's address (rule denied-cidr)"


def test_the_same_dedup_key_is_one_delivery_sent_once(place, django_capture_on_commit_callbacks):
    with receiver(lambda r: (200, OK)) as robot:
        channel_id = channel(place, "wecom", f"{robot.url}/send?key={WECOM_KEY}")
        with django_capture_on_commit_callbacks(execute=False) as queued:
            first = actions.do_send_notification(
                metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key="fp:1"
            )
            again = actions.do_send_notification(
                metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key="fp:1"
            )
            other = actions.do_send_notification(
                metadata=place.meta, channel_id=channel_id, notice=resolved(), dedup_key="fp:2"
            )
        assert first == again != other
        assert len(queued) == 2  # one task per delivery, after commit
        for delivery_id in (first, again, other):
            tasks.deliver(delivery_id)
    assert len(robot.requests) == 2
    assert Delivery.unscoped.filter(channel_id=channel_id).count() == 2


def test_a_disabled_channel_refuses_new_notices_and_kills_queued_ones(place):
    with receiver(lambda r: (200, OK)) as robot:
        channel_id = channel(place, "wecom", f"{robot.url}/send?key={WECOM_KEY}")
        queued = actions.do_send_notification(
            metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key="a"
        )
        actions.do_disable_channel(metadata=place.admin, channel_id=channel_id, reason="maintenance")
        with pytest.raises(ChannelDisabled):
            actions.do_send_notification(metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key="b")
        assert tasks.deliver(queued) == "dead"
    assert robot.requests == []
    assert Delivery.unscoped.get(id=queued).last_error_code == "NOTIFICATION_CHANNEL_DISABLED"


def test_secrets_stay_out_of_the_log_the_rows_and_the_logs(place, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # it logs each request's URL
    with receiver(lambda r: (500, {})) as hook:
        for kind, url, secret in (
            ("dingtalk", f"{hook.url}/robot/send?access_token={DING_TOKEN}", DING_SECRET),
            ("feishu", f"{hook.url}/open-apis/bot/v2/hook/{FEISHU_HOOK}", FEISHU_SECRET),
            ("webhook", f"{hook.url}/h", HOOK_SECRET),
        ):
            send(place, channel(place, kind, url, signing_secret=secret), key=kind)
        send(place, channel(place, "wecom", f"{hook.url}/send?key={WECOM_KEY}"), key="wecom")
    payloads = "\n".join(Event.objects.values_list("payload", flat=True))
    rows = "\n".join(str(list(Delivery.unscoped.values())) for _ in [0])
    for secret in ALL_SECRETS:
        assert secret not in payloads
        assert secret not in rows
        assert secret not in caplog.text
    assert f"http://127.0.0.1:{hook.port}/****" in payloads  # the masked form is what the log keeps
    assert "HTTP Request: POST http://127.0.0.1:" in caplog.text and "/****" in caplog.text


def test_dingtalk_without_a_signing_secret_sends_no_signature(place):
    with receiver(lambda r: (200, OK)) as robot:
        send(place, channel(place, "dingtalk", f"{robot.url}/robot/send?access_token={DING_TOKEN}"))
    [request] = robot.requests
    assert request.query == {"access_token": DING_TOKEN}


def test_a_receiver_that_never_answers_times_out(place):
    with socket.socket() as silent, override_settings(CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS=1):
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the connection; nobody ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/h"
        delivery = send(place, channel(place, "webhook", url, signing_secret=HOOK_SECRET))
    assert (delivery.state, delivery.last_error_code) == ("retrying", "NOTIFICATION_TIMEOUT")


def test_a_send_whose_worker_died_is_taken_again_by_the_requeue(place):
    from datetime import timedelta

    from django.utils import timezone

    with receiver(lambda r: (200, OK)) as robot:
        channel_id = channel(place, "wecom", f"{robot.url}/send?key={WECOM_KEY}")
        delivery_id = actions.do_send_notification(
            metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key="k"
        )
        # a worker took it and died: the row says "sending" since long ago
        long_ago = timezone.now() - timedelta(hours=1)
        Delivery.unscoped.filter(id=delivery_id).update(state="sending", attempts=1, claimed_at=long_ago)
        assert tasks.requeue_due() == 1
        assert tasks.deliver(delivery_id) == "delivered"
    assert Delivery.unscoped.get(id=delivery_id).attempts == 2
    assert len(robot.requests) == 1


def test_deliveries_and_failures_are_counted_by_kind(place):
    from prometheus_client import REGISTRY

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"channel_kind": "wecom"}) or 0.0

    before = (count("controlplane_notification_deliveries_total"), count("controlplane_notification_failures_total"))
    answers = iter([500, 200])
    with receiver(lambda r: (next(answers), OK)) as robot:
        delivery = send(place, channel(place, "wecom", f"{robot.url}/send?key={WECOM_KEY}"))
        tasks.deliver(delivery.id)
    after = (count("controlplane_notification_deliveries_total"), count("controlplane_notification_failures_total"))
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_finished_deliveries_past_the_retention_are_purged(place):
    from datetime import timedelta

    from django.utils import timezone

    with receiver(lambda r: (200, OK)) as robot:
        channel_id = channel(place, "wecom", f"{robot.url}/send?key={WECOM_KEY}")
        ids = {
            key: actions.do_send_notification(
                metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key=key
            )
            for key in ("old-delivered", "old-dead", "old-retrying", "new-delivered")
        }
    long_ago = timezone.now() - timedelta(days=31)
    states = {
        "old-delivered": "delivered",
        "old-dead": "dead",
        "old-retrying": "retrying",
        "new-delivered": "delivered",
    }
    for key, state in states.items():
        stamp = long_ago if key.startswith("old") else timezone.now()
        Delivery.unscoped.filter(id=ids[key]).update(state=state, updated_at=stamp)
    with override_settings(CONTROLPLANE_NOTIFY_RETENTION_DAYS=30):
        assert tasks.purge_deliveries() == 2
    assert set(Delivery.unscoped.values_list("id", flat=True)) == {ids["old-retrying"], ids["new-delivered"]}
    with override_settings(CONTROLPLANE_NOTIFY_RETENTION_DAYS=0):
        assert tasks.purge_deliveries() == 0
