"""Who did what, from where, in whose tenant: carried by every event (and so the audit trail)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

ACTOR_KINDS = ("user", "token", "agent", "system")


@dataclass(frozen=True)
class Actor:
    kind: str  # user | token | agent | system
    id: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"actor kind {self.kind!r} is not one of {ACTOR_KINDS}")

    @classmethod
    def system(cls, name: str = "controlplane") -> Actor:
        return cls(kind="system", id=name)


@dataclass(frozen=True)
class Metadata:
    tenant_id: str | None
    actor: Actor
    workspace_id: str | None = None
    request_id: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    client_address: str = ""

    @classmethod
    def for_system(cls, tenant_id: str | None, *, workspace_id: str | None = None, reason: str = "") -> Metadata:
        request_id = uuid.uuid4().hex
        return cls(
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            actor=Actor.system(reason or "controlplane"),
            request_id=request_id,
            correlation_id=request_id,
        )

    def caused_by(self, position: int) -> Metadata:
        """Metadata for follow-up events of a subscriber: same correlation, caused by that event."""
        return replace(self, causation_id=str(position))
