"""The pure core: signatures against the receivers' published examples' shapes, masking, backoff, moves."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from controlplane.notifications.domain import aggregate, signing
from controlplane.notifications.domain.delivery import (
    DeliveryState,
    after_failure,
    allowed,
    backoff_seconds,
)
from controlplane.notifications.domain.notice import Notice
from tests.notifications.conftest import firing


def test_signatures_are_base64_and_hex_hmacs():
    assert signing.dingtalk_sign(1700000000000, "SECx") == signing.dingtalk_sign(1700000000000, "SECx")
    assert signing.dingtalk_sign(1700000000000, "SECx") != signing.dingtalk_sign(1700000000001, "SECx")
    assert len(signing.feishu_sign(1700000000, "s")) == 44  # 32 bytes, base64
    assert (
        signing.webhook_signature(1, b"{}", "k").startswith("sha256=")
        and len(signing.webhook_signature(1, b"{}", "k")) == 71
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://oapi.dingtalk.com/robot/send?access_token=abc", "https://oapi.dingtalk.com/****"),
        ("http://127.0.0.1:8080/hook/abc", "http://127.0.0.1:8080/****"),
        ("https://[::1]:9/x", "https://[::1]:9/****"),
    ],
)
def test_webhook_urls_are_masked_to_their_host(url, shown):
    assert aggregate.mask_url(url) == shown


def test_backoff_doubles_with_jitter_and_a_cap():
    rng = random.Random(7)
    for attempt, window in ((1, 30), (2, 60), (3, 120), (10, 3600)):
        delay = backoff_seconds(attempt, 30, rng=rng)
        assert window / 2 <= delay <= window
    assert backoff_seconds(3, 0) == 0


def test_moves_and_dead_letters():
    assert after_failure(1, 3) == DeliveryState.RETRYING
    assert after_failure(3, 3) == DeliveryState.DEAD
    assert allowed("dead", "queued") and allowed("retrying", "sending")
    assert not allowed("delivered", "queued") and not allowed("queued", "delivered")


def test_a_notice_round_trips_through_json_and_refuses_nonsense():
    notice = firing()
    assert Notice.from_json(notice.to_json()) == notice
    with pytest.raises(ValueError, match="severity"):
        firing(severity="fatal")
    with pytest.raises(ValueError, match="sorted"):
        firing(labels=(("z", "1"), ("a", "2")))
    assert firing(ends_at=datetime(2026, 1, 1, tzinfo=UTC)).to_json()["ends_at"] == "2026-01-01T00:00:00+00:00"


def test_the_metrics_know_every_channel_kind():
    from controlplane.instruments import CHANNEL_KINDS

    assert aggregate.KINDS == CHANNEL_KINDS
