"""What a websocket client receives for one event: built once per event, shared by every matching client.

``{"position", "type", "stream": {"type", "id"}, "version", "recorded_at", "data"}``. ``data`` is a
presentation of the payload: payloads never hold secrets, and the event's metadata (client address, request
and correlation ids, actor) is not passed at all. A context may register a presenter for its wire names to
shape or trim what clients see (``presenter``); the default is the payload as stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

from controlplane.eventlog.records import RecordedEvent

Presenter = Callable[[dict[str, Any]], dict[str, Any]]

_presenters: dict[str, Presenter] = {}


def presenter(*wire_names: str) -> Callable[[Presenter], Presenter]:
    """Register ``fn(payload) -> data`` for these event types."""

    def register(fn: Presenter) -> Presenter:
        for name in wire_names:
            _presenters[name] = fn
        return fn

    return register


def message(event: RecordedEvent) -> dict[str, Any]:
    shape = _presenters.get(event.event_type)
    return {
        "position": event.position,
        "type": event.event_type,
        "stream": {"type": event.stream_type, "id": event.stream_id},
        "version": event.version,
        "recorded_at": event.recorded_at.isoformat(),
        "data": shape(event.payload) if shape is not None else event.payload,
    }


def render(event: RecordedEvent) -> str:
    body = message(event)
    try:
        return orjson.dumps(body).decode()
    except TypeError:  # an integer beyond 64 bits: the standard encoder writes it exactly
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
