"""Who did what, from where, in whose tenant: carried by every event (and so the audit trail)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

ACTOR_KINDS = ("user", "token", "agent", "system")


@dataclass(frozen=True)
class Actor:
    kind: str  # user | token | agent | system
    id: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"actor kind {self.kind!r} is not one of {ACTOR_KINDS}")

    @classmethod
    def system(cls, reason: str) -> Actor:
        """The control plane acting on its own: ``reason`` names the task, step or command (never empty)."""
        if not reason:
            raise ValueError("a system actor names its reason")
        return cls(kind="system", id=reason)


@dataclass(frozen=True)
class Metadata:
    tenant_id: str | None
    actor: Actor
    workspace_id: str | None = None
    request_id: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    client_address: str = ""
    # The live credential behind a user or token actor (the request's user object, carrying its token), which
    # every writer hands to iam.access.authorize. Never stored, never compared: the event keeps `actor`.
    principal: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def for_system(cls, tenant_id: str | None, *, reason: str, workspace_id: str | None = None) -> Metadata:
        """The control plane acting on its own in ``tenant_id``; ``reason`` names what acts (a task, a step)."""
        request_id = uuid.uuid4().hex
        return cls(
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            actor=Actor.system(reason),
            request_id=request_id,
            correlation_id=request_id,
        )

    def caused_by(self, position: int) -> Metadata:
        """Metadata for follow-up events of a subscriber: same correlation, caused by that event."""
        return replace(self, causation_id=str(position))
