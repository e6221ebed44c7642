"""The notification channel aggregate: pure decide/evolve, and the checks of what a channel is made of.

A channel's secrets (a robot's webhook URL, which carries its token, and a signing secret) are checked here but
never decided into an event: the action stores them as secrets and the events name those secrets and carry a masked
form only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.notifications.domain.errors import (
    ChannelNotFound,
    ChannelTransitionIllegal,
    NotificationError,
)
from controlplane.notifications.domain.events import (
    ChannelCreated,
    ChannelDeleted,
    ChannelDisabled,
    ChannelEnabled,
    ChannelUpdated,
)

KINDS = ("email", "dingtalk", "wecom", "feishu", "webhook")
LANGUAGES = ("en", "zh-Hans")
SECRET_FIELDS = ("webhook_url", "signing_secret")
# Which secret fields each kind takes: required, optional.
SECRETS_OF: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "email": ((), ()),
    "dingtalk": (("webhook_url",), ("signing_secret",)),
    "wecom": (("webhook_url",), ()),
    "feishu": (("webhook_url",), ("signing_secret",)),
    "webhook": (("webhook_url", "signing_secret"), ()),
}
MAX_NAME = 100
MAX_RECIPIENTS = 50
MAX_URL = 2048
MAX_SIGNING_SECRET = 512
MAX_REASON = 500
EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MASK = "****"


@dataclass(frozen=True)
class ChannelState:
    exists: bool = False
    deleted: bool = False
    enabled: bool = True
    channel_id: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    name: str = ""
    kind: str = ""
    language: str = "en"
    recipients: tuple[str, ...] = ()
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted


def _invalid(message: str, field_name: str) -> NotificationError:
    return NotificationError(message, field=field_name)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise _invalid(f"name is 1..{MAX_NAME} characters on one line", "name")
    return name.strip()


def check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise _invalid(f"kind is one of {', '.join(KINDS)}", "kind")
    return str(kind)


def check_language(language: object) -> str:
    if language not in LANGUAGES:
        raise _invalid(f"language is one of {', '.join(LANGUAGES)}", "language")
    return str(language)


def check_recipients(kind: str, recipients: object) -> tuple[str, ...]:
    if kind != "email":
        if recipients:
            raise _invalid("only an email channel has recipients", "recipients")
        return ()
    if not isinstance(recipients, (list, tuple)) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise _invalid(f"an email channel has 1..{MAX_RECIPIENTS} recipients", "recipients")
    for address in recipients:
        if not isinstance(address, str) or not EMAIL.match(address):
            raise _invalid("each recipient is one email address (ops@example.com)", "recipients")
    return tuple(dict.fromkeys(recipients))


def check_url(url: object) -> str:
    """An http(s) URL with a host. The message never repeats the URL (it carries the robot's token)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise _invalid(f"webhook_url is an http or https URL of at most {MAX_URL} characters", "webhook_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise _invalid("webhook_url is not a URL", "webhook_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("webhook_url is an http or https URL with a host", "webhook_url")
    return url


def check_signing_secret(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_SIGNING_SECRET:
        raise _invalid(f"signing_secret is 1..{MAX_SIGNING_SECRET} characters", "signing_secret")
    return value


def mask_url(url: str) -> str:
    """What the API shows of a webhook URL: scheme, host and port; the path and query (the token) masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/{MASK}"


def check_secrets(kind: str, given: dict[str, Any], *, present: frozenset[str] = frozenset()) -> dict[str, str]:
    """The secret fields given, checked for ``kind``: each known, allowed for the kind, well formed; the required
    ones given now or ``present`` already. A field given as "" or None is removed (if optional)."""
    required, optional = SECRETS_OF[kind]
    checked: dict[str, str] = {}
    for name, value in given.items():
        if name not in required + optional:
            raise _invalid(f"a {kind} channel takes no {name}", name)
        if value in ("", None):
            if name in required:
                raise _invalid(f"a {kind} channel needs {name}", name)
            checked[name] = ""
            continue
        checked[name] = check_url(value) if name == "webhook_url" else check_signing_secret(value)
    for name in required:
        if name not in checked and name not in present:
            raise _invalid(f"a {kind} channel needs {name}", name)
    return checked


def masked(fields: dict[str, str]) -> dict[str, str]:
    return {name: mask_url(value) if name == "webhook_url" else MASK for name, value in fields.items() if value}


def _require_live(state: ChannelState, channel_id: str) -> None:
    if not state.live:
        raise ChannelNotFound("no such notification channel", channel_id=channel_id)


def create(
    state: ChannelState,
    *,
    channel_id: str,
    tenant_id: str,
    workspace_id: str,
    name: str,
    kind: str,
    language: str,
    recipients: tuple[str, ...],
    secrets: dict[str, str],
    shown: dict[str, str],
) -> list[object]:
    """``secrets``: field -> name of the secret that holds it; ``shown``: field -> masked form."""
    if state.exists:
        raise ConcurrencyConflict(f"channel {channel_id} already exists", stream_id=f"channel-{channel_id}")
    kind = check_kind(kind)
    return [
        ChannelCreated(
            channel_id=channel_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=check_name(name),
            kind=kind,
            language=check_language(language),
            recipients=list(check_recipients(kind, list(recipients))),
            secrets=dict(secrets),
            masked=dict(shown),
        )
    ]


def update(
    state: ChannelState,
    *,
    channel_id: str,
    changes: dict[str, Any],
    secrets: dict[str, str],
    shown: dict[str, str],
    removed: list[str],
) -> list[object]:
    _require_live(state, channel_id)
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            checked[key] = check_name(value)
        elif key == "language":
            checked[key] = check_language(value)
        elif key == "recipients":
            checked[key] = list(check_recipients(state.kind, value))
        else:
            raise _invalid(f"{key} cannot be changed (kind: create another channel)", key)
    checked = {
        k: v for k, v in checked.items() if v != (list(state.recipients) if k == "recipients" else getattr(state, k))
    }
    if not checked and not secrets and not removed:
        return []
    return [ChannelUpdated(channel_id=channel_id, changes=checked, secrets=secrets, masked=shown, removed=removed)]


def disable(state: ChannelState, *, channel_id: str, reason: str) -> list[object]:
    _require_live(state, channel_id)
    if not state.enabled:
        raise ChannelTransitionIllegal("the channel is disabled already", channel_id=channel_id)
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise _invalid(f"reason is at most {MAX_REASON} characters", "reason")
    return [ChannelDisabled(channel_id=channel_id, reason=reason)]


def enable(state: ChannelState, *, channel_id: str) -> list[object]:
    _require_live(state, channel_id)
    if state.enabled:
        raise ChannelTransitionIllegal("the channel is enabled already", channel_id=channel_id)
    return [ChannelEnabled(channel_id=channel_id)]


def delete(state: ChannelState, *, channel_id: str) -> list[object]:
    _require_live(state, channel_id)
    return [ChannelDeleted(channel_id=channel_id)]


def evolve(state: ChannelState, event: Any) -> ChannelState:
    data = event.data
    if isinstance(data, ChannelCreated):
        return ChannelState(
            exists=True,
            channel_id=data.channel_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            name=data.name,
            kind=data.kind,
            language=data.language,
            recipients=tuple(data.recipients),
            secrets=dict(data.secrets),
        )
    if isinstance(data, ChannelUpdated):
        changes = dict(data.changes)
        if "recipients" in changes:
            changes["recipients"] = tuple(changes["recipients"])
        secrets = {k: v for k, v in {**state.secrets, **data.secrets}.items() if k not in data.removed}
        return replace(state, **changes, secrets=secrets)
    if isinstance(data, ChannelDisabled):
        return replace(state, enabled=False)
    if isinstance(data, ChannelEnabled):
        return replace(state, enabled=True)
    if isinstance(data, ChannelDeleted):
        return replace(state, deleted=True)
    return state


def to_snapshot(state: ChannelState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "deleted": state.deleted,
        "enabled": state.enabled,
        "channel_id": state.channel_id,
        "tenant_id": state.tenant_id,
        "workspace_id": state.workspace_id,
        "name": state.name,
        "kind": state.kind,
        "language": state.language,
        "recipients": list(state.recipients),
        "secrets": dict(state.secrets),
    }


def from_snapshot(data: dict[str, Any]) -> ChannelState:
    return ChannelState(**{**data, "recipients": tuple(data["recipients"])})
