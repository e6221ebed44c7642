"""One send of a rendered notice to a channel, kind by kind, as each receiver documents its payload
(docs/NOTIFICATIONS.md). Every HTTP request goes through the outbound policy's pinned transport with a timeout;
email goes through Django's mail backend (the EMAIL_* settings).

A failure is a ``SendFailed`` with a stable code and a message of our own words (never the URL, which carries a
robot's token, nor anything secret: ``redact`` runs over whatever a receiver said before it is kept).
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from controlplane.notifications.domain import signing
from controlplane.notifications.domain.aggregate import mask_url
from controlplane.notifications.domain.notice import Notice
from controlplane.notifications.rendering import Rendered
from controlplane.outbound.configured import configured_policy
from controlplane.outbound.policy import OutboundTargetForbidden
from controlplane.outbound.transport import PinnedTransport

USER_AGENT = "seatunnel-controlplane-notifications/1"
WECOM_MARKDOWN_BYTES = 4096  # the robot refuses longer markdown content
DINGTALK_MARKDOWN_BYTES = 18000
FEISHU_TEMPLATES = {"critical": "red", "warning": "orange", "info": "blue"}


_SENDING: ContextVar[bool] = ContextVar("notifications_sending", default=False)


class _MaskSentUrls(logging.Filter):
    """httpx logs each request's URL (at INFO; the settings show it at DEBUG): a robot's URL carries its token, so
    while a notification is sent the URL is logged masked (``https://oapi.dingtalk.com/****``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SENDING.get() and isinstance(record.args, tuple):
            record.args = tuple(mask_url(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


logging.getLogger("httpx").addFilter(_MaskSentUrls())


class SendFailed(Exception):
    """``permanent``: trying again cannot help (the policy refuses the address); the delivery is dead at once."""

    def __init__(self, code: str, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """What a send needs of a channel: its kind and name, the secrets resolved now, the recipients."""

    kind: str
    name: str
    language: str
    secrets: dict[str, str]
    recipients: tuple[str, ...] = ()


def redact(text: str, secrets: dict[str, str], limit: int = 300) -> str:
    for value in sorted(secrets.values(), key=len, reverse=True):
        if value:
            text = text.replace(value, "****")
    return text[:limit]


def _truncate(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


def send(target: Target, notice: Notice, rendered: Rendered, *, delivery_id: str) -> None:
    if target.kind == "email":
        _send_email(target, rendered)
        return
    url, body, headers = _request(target, notice, rendered, delivery_id)
    answer = _post(url, body, headers)
    _check_answer(target, answer)


def _request(target: Target, notice: Notice, rendered: Rendered, delivery_id: str) -> tuple[httpx.URL, bytes, dict]:
    url = httpx.URL(target.secrets["webhook_url"])
    secret = target.secrets.get("signing_secret", "")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    payload: dict[str, Any]
    if target.kind == "dingtalk":
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": rendered.title, "text": _truncate(rendered.markdown, DINGTALK_MARKDOWN_BYTES)},
        }
        if secret:
            timestamp_ms = int(time.time() * 1000)
            url = url.copy_merge_params(
                {"timestamp": str(timestamp_ms), "sign": signing.dingtalk_sign(timestamp_ms, secret)}
            )
    elif target.kind == "wecom":
        payload = {"msgtype": "markdown", "markdown": {"content": _truncate(rendered.markdown, WECOM_MARKDOWN_BYTES)}}
    elif target.kind == "feishu":
        payload = {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "title": {"tag": "plain_text", "content": rendered.title},
                    "template": "green" if notice.status == "resolved" else FEISHU_TEMPLATES[notice.severity],
                },
                "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": rendered.markdown}}],
            },
        }
        if secret:
            timestamp_s = int(time.time())
            payload = {"timestamp": str(timestamp_s), "sign": signing.feishu_sign(timestamp_s, secret), **payload}
    elif target.kind == "webhook":
        payload = {
            "version": 1,
            "delivery_id": delivery_id,
            "channel": target.name,
            "language": target.language,
            "title": rendered.title,
            "text": rendered.text,
            "notice": notice.to_json(),
        }
    else:
        raise SendFailed("NOTIFICATION_CHANNEL_INVALID", f"unknown channel kind {target.kind!r}", permanent=True)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if target.kind == "webhook":
        timestamp_s = int(time.time())
        headers[signing.WEBHOOK_TIMESTAMP_HEADER] = str(timestamp_s)
        headers[signing.WEBHOOK_SIGNATURE_HEADER] = signing.webhook_signature(timestamp_s, body, secret)
        headers[signing.WEBHOOK_DELIVERY_HEADER] = delivery_id
    return url, body, headers


def _post(url: httpx.URL, body: bytes, headers: dict) -> httpx.Response:
    timeout = float(settings.CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS)
    sending = _SENDING.set(True)
    try:
        with httpx.Client(transport=PinnedTransport(configured_policy()), timeout=timeout) as client:
            return client.post(url, content=body, headers=headers)
    except OutboundTargetForbidden as error:
        rule = error.details.get("rule", "")
        raise SendFailed(
            "OUTBOUND_TARGET_FORBIDDEN",
            f"the outbound policy refuses the channel's address (rule {rule})",
            permanent=True,
        ) from None
    except httpx.TimeoutException as error:
        raise SendFailed("NOTIFICATION_TIMEOUT", f"no answer within {timeout:g} s ({type(error).__name__})") from None
    except httpx.TransportError as error:
        raise SendFailed(
            "NOTIFICATION_UNREACHABLE", f"the channel's address cannot be reached ({type(error).__name__})"
        ) from None
    finally:
        _SENDING.reset(sending)


def _check_answer(target: Target, answer: httpx.Response) -> None:
    """A non-2xx status fails; so does a robot's 200 carrying an error (DingTalk/WeCom ``errcode``, Feishu ``code``)."""
    if not answer.is_success:
        raise SendFailed("NOTIFICATION_HTTP_ERROR", f"the receiver answered HTTP {answer.status_code}")
    if target.kind == "webhook":
        return
    try:
        data = answer.json()
    except ValueError:
        raise SendFailed("NOTIFICATION_BAD_RESPONSE", f"the {target.kind} robot's answer is not JSON") from None
    if not isinstance(data, dict):
        raise SendFailed("NOTIFICATION_BAD_RESPONSE", f"the {target.kind} robot's answer is not a JSON object")
    if target.kind == "feishu":
        code = data.get("code", data.get("StatusCode"))
        message = data.get("msg", data.get("StatusMessage", ""))
    else:
        code, message = data.get("errcode"), data.get("errmsg", "")
    if code is None:
        raise SendFailed("NOTIFICATION_BAD_RESPONSE", f"the {target.kind} robot's answer has no result code")
    if code != 0:
        said = redact(str(message), target.secrets, limit=200)
        raise SendFailed("NOTIFICATION_REJECTED", f"the {target.kind} robot refused the message: {code} {said}")


def _send_email(target: Target, rendered: Rendered) -> None:
    message = EmailMultiAlternatives(
        subject=rendered.title,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(target.recipients),
        connection=get_connection(fail_silently=False),
    )
    message.attach_alternative(rendered.html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused:
        raise SendFailed("NOTIFICATION_SMTP_ERROR", "the mail server refused every recipient") from None
    except smtplib.SMTPResponseException as error:
        raise SendFailed("NOTIFICATION_SMTP_ERROR", f"the mail server answered {error.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise SendFailed(
            "NOTIFICATION_SMTP_ERROR", f"the mail server cannot be reached ({type(error).__name__})"
        ) from None
