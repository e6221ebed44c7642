"""Event types that exist only in tests."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("testing.thing_happened")
@dataclass(frozen=True)
class ThingHappened:
    n: int
    label: str = ""


@event_type("testing.platform_tuned", tenantless=True)
@dataclass(frozen=True)
class PlatformTuned:
    knob: str


@event_type("testing.receipt_recorded")
@dataclass(frozen=True)
class ReceiptRecorded:
    position: int


@dataclass(frozen=True)
class NotRegistered:
    n: int
