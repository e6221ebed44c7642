"""Events as read back from the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from controlplane.eventlog import types
from controlplane.eventlog.hashing import to_aware
from controlplane.eventlog.metadata import Actor, Metadata


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int  # as stored; ``data`` is already upcast to the current version
    payload: dict[str, Any]
    data: object | None  # None: a type this release does not know (written by a newer one)
    metadata: Metadata
    recorded_at: datetime
    hash: str


@lru_cache(maxsize=4096)
def _metadata(
    tenant_id: str | None,
    workspace_id: str | None,
    actor_kind: str,
    actor_id: str,
    request_id: str,
    correlation_id: str,
    causation_id: str,
    client_address: str,
) -> Metadata:
    # Events of one request or one batch share their metadata: build it once (it is immutable).
    return Metadata(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        actor=Actor(kind=actor_kind, id=actor_id),
        request_id=request_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        client_address=client_address,
    )


def from_row(row: tuple | list) -> RecordedEvent:
    """A row in READ_COLUMNS order -> RecordedEvent (decoded, upcast)."""
    (
        position,
        stream_type,
        stream_id,
        version,
        event_type,
        schema_version,
        payload_text,
        tenant_id,
        workspace_id,
        actor_kind,
        actor_id,
        request_id,
        correlation_id,
        causation_id,
        client_address,
        recorded_at,
        hash_,
    ) = row
    payload = orjson.loads(payload_text)  # 4x faster than json on the catch-up path
    return RecordedEvent(
        position=position,
        stream_type=stream_type,
        stream_id=stream_id,
        version=version,
        event_type=event_type,
        schema_version=schema_version,
        payload=payload,
        data=types.decode(event_type, schema_version, payload),
        metadata=_metadata(
            tenant_id, workspace_id, actor_kind, actor_id, request_id, correlation_id, causation_id, client_address
        ),
        recorded_at=to_aware(recorded_at),
        hash=hash_,
    )
