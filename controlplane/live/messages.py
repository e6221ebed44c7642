"""What a websocket client receives for one event: built once per event, shared by every matching client.

``{"position", "type", "stream": {"type", "id"}, "version", "recorded_at", "data"}``. ``data`` is a
presentation of the payload: payloads never hold secrets, and the event's metadata (client address, request
and correlation ids, actor) is not passed at all. A context may register a presenter for its wire names to
shape or trim what clients see (``presenter``); the default is the payload as stored.

Integers a browser cannot hold exactly (beyond 2**53 - 1: JavaScript reads every JSON number as a double and
rounds ``823277033685328313`` to ``823277033685328300``) are sent as strings, whatever the type of event;
engine job ids are strings always (``live/broadcasts.py``), as in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from controlplane.eventlog.records import RecordedEvent

JS_SAFE_INTEGER = 2**53 - 1  # Number.MAX_SAFE_INTEGER

Presenter = Callable[[dict[str, Any]], dict[str, Any]]

_presenters: dict[str, Presenter] = {}


def presenter(*wire_names: str) -> Callable[[Presenter], Presenter]:
    """Register ``fn(payload) -> data`` for these event types."""

    def register(fn: Presenter) -> Presenter:
        for name in wire_names:
            _presenters[name] = fn
        return fn

    return register


def js_safe(value: Any) -> Any:
    """``value`` with every integer that JavaScript would round turned into its decimal string."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > JS_SAFE_INTEGER:
        return str(value)
    if isinstance(value, dict):
        return {key: js_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [js_safe(item) for item in value]
    return value


def message(event: RecordedEvent) -> dict[str, Any]:
    shape = _presenters.get(event.event_type)
    return {
        "position": event.position,
        "type": event.event_type,
        "stream": {"type": event.stream_type, "id": event.stream_id},
        "version": event.version,
        "recorded_at": event.recorded_at.isoformat(),
        "data": js_safe(shape(event.payload) if shape is not None else event.payload),
    }


def render(event: RecordedEvent) -> str:
    return orjson.dumps(message(event)).decode()
