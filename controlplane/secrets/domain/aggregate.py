"""The secret aggregate: pure decide/evolve over secret metadata, no Django and no cryptography."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.secrets.domain.errors import SecretInputInvalid, SecretNameInvalid, SecretNotFound
from controlplane.secrets.domain.events import (
    SecretCreated,
    SecretDeleted,
    SecretRevealed,
    SecretRewrapped,
    SecretVersionAdded,
)

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_DESCRIPTION = 500
MAX_VALUE_BYTES = 64 * 1024


@dataclass(frozen=True)
class SecretState:
    exists: bool = False
    deleted: bool = False
    secret_id: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    name: str = ""
    current_version: int = 0

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise SecretNameInvalid("secret names are 1..100 characters of A-Z, a-z, 0-9, '_', '.' and '-'", field="name")
    return name


def check_description(description: object) -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise SecretInputInvalid(
            f"description must be text of at most {MAX_DESCRIPTION} characters", field="description"
        )
    return description


def check_value(value: object) -> bytes:
    """The value as UTF-8 bytes. The error says what is wrong with it, never what it is."""
    if not isinstance(value, str) or not value:
        raise SecretInputInvalid("value must be a non-empty string", field="value")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise SecretInputInvalid("value is not valid Unicode text", field="value") from None
    if len(data) > MAX_VALUE_BYTES:
        raise SecretInputInvalid(f"value is longer than {MAX_VALUE_BYTES} bytes", field="value")
    return data


def _require_live(state: SecretState, secret_id: str) -> None:
    if not state.live:
        raise SecretNotFound("no such secret", secret_id=secret_id)


def _require_next_version(state: SecretState, version: int) -> None:
    # The action sealed the value for ``version`` before deciding; another writer got there first.
    if version != state.current_version + 1:
        raise ConcurrencyConflict(
            f"secret {state.secret_id} is at version {state.current_version}; reload and retry",
            stream_id=f"secret-{state.secret_id}",
            expected_version=version - 1,
            actual_version=state.current_version,
        )


def create_secret(
    state: SecretState,
    *,
    secret_id: str,
    tenant_id: str,
    workspace_id: str,
    name: str,
    description: str,
    kek_id: str,
) -> list[object]:
    if state.exists:
        raise ConcurrencyConflict(f"secret {secret_id} already exists", stream_id=f"secret-{secret_id}")
    return [
        SecretCreated(
            secret_id=secret_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=check_name(name),
            description=check_description(description),
        ),
        SecretVersionAdded(secret_id=secret_id, version=1, kek_id=kek_id),
    ]


def add_version(state: SecretState, *, secret_id: str, version: int, kek_id: str) -> list[object]:
    _require_live(state, secret_id)
    _require_next_version(state, version)
    return [SecretVersionAdded(secret_id=secret_id, version=version, kek_id=kek_id)]


def delete_secret(state: SecretState, *, secret_id: str) -> list[object]:
    _require_live(state, secret_id)
    return [SecretDeleted(secret_id=secret_id)]


def resolve_version(state: SecretState, *, secret_id: str, version: int | None) -> int:
    _require_live(state, secret_id)
    if version is None:
        return state.current_version
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= state.current_version:
        raise SecretNotFound(f"secret has no version {version}", secret_id=secret_id, version=version)
    return version


def reveal_secret(state: SecretState, *, secret_id: str, version: int | None) -> list[object]:
    return [SecretRevealed(secret_id=secret_id, version=resolve_version(state, secret_id=secret_id, version=version))]


def rewrap_versions(state: SecretState, *, secret_id: str, rewraps: list[tuple[int, str, str]]) -> list[object]:
    """``rewraps``: (version, from_kek_id, to_kek_id) of data keys already re-wrapped in storage."""
    _require_live(state, secret_id)
    for version, _, _ in rewraps:
        resolve_version(state, secret_id=secret_id, version=version)
    return [
        SecretRewrapped(secret_id=secret_id, version=version, from_kek_id=old, to_kek_id=new)
        for version, old, new in rewraps
        if old != new
    ]


def evolve(state: SecretState, event: Any) -> SecretState:
    data = event.data
    if isinstance(data, SecretCreated):
        return SecretState(
            exists=True,
            secret_id=data.secret_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            name=data.name,
        )
    if isinstance(data, SecretVersionAdded):
        return replace(state, current_version=data.version)
    if isinstance(data, SecretDeleted):
        return replace(state, deleted=True)
    return state  # revealed, rewrapped: audit and key bookkeeping, no change to the secret


def to_snapshot(state: SecretState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "deleted": state.deleted,
        "secret_id": state.secret_id,
        "tenant_id": state.tenant_id,
        "workspace_id": state.workspace_id,
        "name": state.name,
        "current_version": state.current_version,
    }


def from_snapshot(data: dict[str, Any]) -> SecretState:
    return SecretState(**data)
