"""Errors of the event log. Each carries a stable code (docs/API.md lists them)."""

from __future__ import annotations

from controlplane.errors import DomainError


class EventLogError(DomainError):
    code = "EVENTLOG_ERROR"


class ConcurrencyConflict(EventLogError):
    """Another writer appended to the stream first; reload and decide again."""

    code = "EVENTLOG_CONCURRENCY_CONFLICT"


class UnknownEventType(EventLogError):
    code = "EVENTLOG_UNKNOWN_EVENT_TYPE"


class PayloadNotSerializable(EventLogError):
    code = "EVENTLOG_PAYLOAD_NOT_JSON"


class MetadataMissing(EventLogError):
    code = "EVENTLOG_METADATA_MISSING"


class InvalidAppend(EventLogError):
    """Malformed call: empty batch, negative expected version, stream type mismatch."""

    code = "EVENTLOG_INVALID_APPEND"


class EventLogImmutable(EventLogError):
    code = "EVENTLOG_IMMUTABLE"


class UpcastMissing(EventLogError):
    code = "EVENTLOG_UPCAST_MISSING"


class RebuildRefused(EventLogError):
    """A rebuild would remove a read-model row that state of record (a grant, a token, …) still points at."""

    code = "EVENTLOG_REBUILD_REFUSED"
