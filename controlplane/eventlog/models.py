"""Tables of the event log. Only ``store`` writes them, with raw SQL on the hot path.

``Event`` rows are immutable: the ORM refuses update and delete, and on PostgreSQL, MariaDB and SQLite
a trigger refuses UPDATE and DELETE too (migration 0002).
"""

from __future__ import annotations

from django.db import models

from controlplane.eventlog.errors import EventLogImmutable


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be updated")

    def delete(self):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be deleted")

    def bulk_update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be updated")


class Event(models.Model):
    position = models.BigAutoField(primary_key=True)
    stream_type = models.CharField(max_length=100)
    stream_id = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    event_type = models.CharField(max_length=100)
    schema_version = models.PositiveSmallIntegerField()
    payload = models.TextField()  # JSON text, never a JSON column type: portable and byte-exact for the hash
    tenant_id = models.CharField(max_length=64, null=True)
    workspace_id = models.CharField(max_length=64, null=True)
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=150)
    request_id = models.CharField(max_length=64, default="")
    correlation_id = models.CharField(max_length=64, default="")
    causation_id = models.CharField(max_length=64, default="")
    client_address = models.CharField(max_length=64, default="")
    recorded_at = models.DateTimeField()
    hash = models.CharField(max_length=64)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        db_table = "eventlog_event"
        constraints = [models.UniqueConstraint(fields=["stream_id", "version"], name="eventlog_event_stream_version")]
        indexes = [models.Index(fields=["tenant_id", "position"], name="eventlog_event_tenant_pos")]

    def __str__(self) -> str:
        return f"#{self.position} {self.event_type} {self.stream_id}@{self.version}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events are written only by eventlog.store.append")

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be deleted")


class Stream(models.Model):
    """The head of each stream: its current version and last hash, the row that serialises its writers."""

    stream_id = models.CharField(max_length=100, primary_key=True)
    stream_type = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    last_hash = models.CharField(max_length=64)
    tenant_id = models.CharField(max_length=64, null=True)

    class Meta:
        db_table = "eventlog_stream"

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version}"


class PositionCounter(models.Model):
    """One row; on MariaDB/MySQL and Oracle it hands out positions in commit order (docs/adr/0002)."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    last_position = models.BigIntegerField(default=0)

    class Meta:
        db_table = "eventlog_position_counter"

    def __str__(self) -> str:
        return str(self.last_position)


class Snapshot(models.Model):
    """Disposable cache of an aggregate's state at a version; deleting every row changes nothing but speed."""

    stream_id = models.CharField(max_length=100)
    aggregate = models.CharField(max_length=100)
    snapshot_schema = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    state = models.TextField()

    class Meta:
        db_table = "eventlog_snapshot"
        constraints = [
            models.UniqueConstraint(fields=["stream_id", "aggregate"], name="eventlog_snapshot_stream_aggregate")
        ]

    def __str__(self) -> str:
        return f"{self.aggregate} {self.stream_id}@{self.version}"


class Checkpoint(models.Model):
    """Where an asynchronous subscriber is in the global order; moved in the same transaction as its effect."""

    name = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)
    unknown_skipped = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "eventlog_checkpoint"

    def __str__(self) -> str:
        return f"{self.name}@{self.position}"
