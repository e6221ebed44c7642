"""Events of a notification channel's stream (wire names are stable). Secrets are named, never their values:
``secrets`` maps a field (``webhook_url``, ``signing_secret``) to the name of the secret holding it, ``masked``
to what the API shows of it (``https://oapi.dingtalk.com/****``, ``****``)."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("notifications.channel_created")
@dataclass(frozen=True)
class ChannelCreated:
    channel_id: str
    tenant_id: str
    workspace_id: str
    name: str
    kind: str  # email | dingtalk | wecom | feishu | webhook
    language: str  # en | zh-Hans
    recipients: list[str]  # email only
    secrets: dict[str, str]
    masked: dict[str, str]


@event_type("notifications.channel_updated")
@dataclass(frozen=True)
class ChannelUpdated:
    """``changes``: the new values of name, language, recipients; ``secrets``/``masked``: the secret fields given
    anew (a new version of the named secret was stored), or removed (absent from ``secrets``, in ``removed``)."""

    channel_id: str
    changes: dict
    secrets: dict[str, str]
    masked: dict[str, str]
    removed: list[str]


@event_type("notifications.channel_disabled")
@dataclass(frozen=True)
class ChannelDisabled:
    channel_id: str
    reason: str


@event_type("notifications.channel_enabled")
@dataclass(frozen=True)
class ChannelEnabled:
    channel_id: str


@event_type("notifications.channel_deleted")
@dataclass(frozen=True)
class ChannelDeleted:
    channel_id: str
