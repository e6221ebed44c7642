"""What a reconnecting client missed: the topic's events in (after, horizon] read from the log.

Everything at or below the horizon (the position the tailer had delivered when the client joined) is final,
so a plain indexed read is exact here; the topic's pre-filter narrows it in SQL, its ``match`` decides.
"""

from __future__ import annotations

from django.db.models import Max

from controlplane.eventlog.models import Event
from controlplane.eventlog.records import RecordedEvent, from_row
from controlplane.live.topics import Topic

COLUMNS = (
    "position",
    "stream_type",
    "stream_id",
    "version",
    "event_type",
    "schema_version",
    "payload",
    "tenant_id",
    "workspace_id",
    "actor_kind",
    "actor_id",
    "request_id",
    "correlation_id",
    "causation_id",
    "client_address",
    "recorded_at",
    "hash",
)  # the order from_row reads (eventlog.dialects.READ_COLUMNS)

BATCH = 500


def missed(topic: Topic, after: int, horizon: int, limit: int = BATCH) -> tuple[list[RecordedEvent], int]:
    """One batch of the events the topic's pre-filter lets through after ``after`` (its ``match`` still
    decides, on the caller's task), and the position the next batch starts after (``horizon`` at the end)."""
    rows = list(
        Event.objects.filter(topic.prefilter(), position__gt=after, position__lte=horizon)
        .order_by("position")
        .values_list(*COLUMNS)[:limit]
    )
    if len(rows) < limit:
        scanned = horizon
    else:
        scanned = rows[-1][0]
    return [from_row(row) for row in rows], scanned


def head() -> int:
    """The highest committed position (a client's ?after= can never be above it)."""
    return Event.objects.aggregate(head=Max("position"))["head"] or 0
