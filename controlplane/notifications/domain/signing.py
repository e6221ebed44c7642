"""The signatures the channels send, each as its receiver documents it (docs/NOTIFICATIONS.md). Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac

# The generic webhook's headers: the receiver recomputes the signature from its copy of the secret.
WEBHOOK_TIMESTAMP_HEADER = "X-SeaTunnel-Timestamp"
WEBHOOK_SIGNATURE_HEADER = "X-SeaTunnel-Signature"
WEBHOOK_DELIVERY_HEADER = "X-SeaTunnel-Delivery"


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's custom robot: HMAC-SHA256 keyed by the secret over ``timestamp + "\\n" + secret``, base64. The
    caller URL-encodes it as the ``sign`` query parameter, beside ``timestamp`` (milliseconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp_s: int, secret: str) -> str:
    """Feishu/Lark's custom bot: HMAC-SHA256 keyed by ``timestamp + "\\n" + secret`` over an empty message, base64;
    sent as ``sign`` in the JSON body beside ``timestamp`` (seconds, as a string)."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(timestamp_s: int, body: bytes, secret: str) -> str:
    """The generic webhook's ``X-SeaTunnel-Signature``: ``sha256=`` and the hex HMAC-SHA256 keyed by the secret over
    ``<timestamp>.`` followed by the exact body bytes (the timestamp is ``X-SeaTunnel-Timestamp``, seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"
