"""Event types: stable wire names, schema versions, and upcasters from older schema versions.

A domain event is a frozen dataclass registered with ``@event_type("tenancy.tenant_created", version=1)``.
Its wire name never changes and is never a Python import path, so code can move freely. When the
payload's shape changes, bump ``version`` and register an ``@upcaster(name, from_version=old)`` that
turns the old payload dict into the next version's; stored rows are never rewritten.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from controlplane.eventlog.errors import UnknownEventType, UpcastMissing

WIRE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")

T = TypeVar("T")


@dataclass(frozen=True)
class EventSpec:
    wire_name: str
    version: int
    cls: type
    tenantless: bool  # platform-level events that belong to no tenant
    field_names: tuple[str, ...]
    # Decoding may fill the instance's __dict__ directly when that is all __init__ would do (no
    # __post_init__, no slots, every field an init field): about twice as fast on the read path.
    plain: bool = False
    field_set: frozenset[str] = frozenset()


_by_name: dict[str, EventSpec] = {}
_by_class: dict[type, EventSpec] = {}
_upcasters: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def event_type(wire_name: str, *, version: int = 1, tenantless: bool = False) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass as a domain event under a stable wire name."""
    if not WIRE_NAME.match(wire_name):
        raise ValueError(f"event wire name {wire_name!r} must look like 'context.past_tense_verb'")
    if version < 1:
        raise ValueError("event schema versions start at 1")

    def register(cls: type[T]) -> type[T]:
        if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"{cls.__name__} must be a frozen dataclass to be an event")
        existing = _by_name.get(wire_name)
        if existing is not None and existing.cls.__qualname__ != cls.__qualname__:
            raise ValueError(f"event wire name {wire_name!r} is already taken by {existing.cls.__qualname__}")
        spec = EventSpec(
            wire_name=wire_name,
            version=version,
            cls=cls,
            tenantless=tenantless,
            field_names=tuple(f.name for f in dataclasses.fields(cls)),
            plain=_plain(cls),
            field_set=frozenset(f.name for f in dataclasses.fields(cls)),
        )
        _by_name[wire_name] = spec
        _by_class[cls] = spec
        return cls

    return register


def _plain(cls: type) -> bool:
    """Is __init__ nothing but storing each field? Then decode may set the instance's __dict__ itself."""
    fields = dataclasses.fields(cls)
    return (
        not hasattr(cls, "__post_init__")
        and not hasattr(cls, "__slots__")
        and _constructor(cls) is object.__new__
        and all(f.init for f in fields)
        and len(fields) == len(getattr(cls, "__dataclass_fields__", {}))  # no InitVar or ClassVar pseudo-fields
    )


def upcaster(wire_name: str, *, from_version: int) -> Callable[[Callable], Callable]:
    """Register the function that turns payload version ``from_version`` into ``from_version + 1``."""

    def register(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _upcasters[(wire_name, from_version)] = fn
        return fn

    return register


def spec_for_event(event: object) -> EventSpec:
    spec = _by_class.get(type(event))
    if spec is None:
        raise UnknownEventType(
            f"{type(event).__qualname__} is not a registered event type", event_class=type(event).__qualname__
        )
    return spec


def spec_for_name(wire_name: str) -> EventSpec | None:
    return _by_name.get(wire_name)


def registered_names() -> list[str]:
    return sorted(_by_name)


def to_payload(event: object, spec: EventSpec) -> dict[str, Any]:
    return {name: getattr(event, name) for name in spec.field_names}


def decode(wire_name: str, schema_version: int, payload: dict[str, Any]) -> object | None:
    """Build the current event object from a stored payload, upcasting as needed; None if unknown here."""
    spec = _by_name.get(wire_name)
    if spec is None:
        return None
    version = schema_version
    while version < spec.version:
        step = _upcasters.get((wire_name, version))
        if step is None:
            raise UpcastMissing(
                f"no upcaster for {wire_name} from schema version {version} to {version + 1}",
                event_type=wire_name,
                schema_version=version,
            )
        payload = step(payload)
        version += 1
    if version > spec.version:
        # Written by a newer release (rollback by one version): treat as unknown, never guess.
        return None
    if spec.plain and payload.keys() == spec.field_set:
        event = _new_object(spec.cls)
        event.__dict__.update(payload)  # what the generated __init__ would do, without its setattr calls
        return event
    instance: object = spec.cls(**payload)
    return instance


_new_object: Callable[[type], object] = object.__new__


def _constructor(cls: type) -> object:
    return cls.__new__


def unregister(wire_name: str) -> None:
    """For tests that declare throwaway event types."""
    spec = _by_name.pop(wire_name, None)
    if spec is not None:
        _by_class.pop(spec.cls, None)
    for key in [k for k in _upcasters if k[0] == wire_name]:
        del _upcasters[key]
