"""Tables of the event log. Only ``store`` writes them, with raw SQL on the hot path.

``Event`` rows are immutable: the ORM refuses update and delete, and on PostgreSQL, MariaDB and SQLite
a trigger refuses UPDATE and DELETE too (migration 0002).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.eventlog.errors import EventLogImmutable


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be updated")

    def delete(self):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be deleted")

    def bulk_update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise EventLogImmutable("events cannot be updated")


class Event(models.Model):
    position = models.BigAutoField(primary_key=True, verbose_name=_("position"))
    stream_type = models.CharField(max_length=100, verbose_name=_("stream type"))
    stream_id = models.CharField(max_length=100, verbose_name=_("stream id"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    event_type = models.CharField(max_length=100, verbose_name=_("event type"))
    schema_version = models.PositiveSmallIntegerField(verbose_name=_("schema version"))
    # JSON text, never a JSON column type: portable and byte-exact for the hash
    payload = models.TextField(verbose_name=_("payload"))
    tenant_id = models.CharField(max_length=64, null=True, verbose_name=_("tenant id"))
    workspace_id = models.CharField(max_length=64, null=True, verbose_name=_("workspace id"))
    actor_kind = models.CharField(max_length=16, verbose_name=_("actor kind"))
    actor_id = models.CharField(max_length=150, verbose_name=_("actor id"))
    request_id = models.CharField(max_length=64, default="", verbose_name=_("request id"))
    correlation_id = models.CharField(max_length=64, default="", verbose_name=_("correlation id"))
    causation_id = models.CharField(max_length=64, default="", verbose_name=_("causation id"))
    client_address = models.CharField(max_length=64, default="", verbose_name=_("client address"))
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"))
    hash = models.CharField(max_length=64, verbose_name=_("hash"))

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
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

    stream_id = models.CharField(max_length=100, primary_key=True, verbose_name=_("stream id"))
    stream_type = models.CharField(max_length=100, verbose_name=_("stream type"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    last_hash = models.CharField(max_length=64, verbose_name=_("last hash"))
    tenant_id = models.CharField(max_length=64, null=True, verbose_name=_("tenant id"))

    class Meta:
        verbose_name = _("stream")
        verbose_name_plural = _("streams")
        db_table = "eventlog_stream"

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version}"


class PositionCounter(models.Model):
    """One row; on MariaDB/MySQL and Oracle it hands out positions in commit order (docs/adr/0002)."""

    id = models.PositiveSmallIntegerField(primary_key=True, verbose_name=_("ID"))
    last_position = models.BigIntegerField(default=0, verbose_name=_("last position"))

    class Meta:
        verbose_name = _("position counter")
        verbose_name_plural = _("position counters")
        db_table = "eventlog_position_counter"

    def __str__(self) -> str:
        return str(self.last_position)


class Snapshot(models.Model):
    """Disposable cache of an aggregate's state at a version; deleting every row changes nothing but speed."""

    stream_id = models.CharField(max_length=100, verbose_name=_("stream id"))
    aggregate = models.CharField(max_length=100, verbose_name=_("aggregate"))
    snapshot_schema = models.PositiveIntegerField(verbose_name=_("snapshot schema"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    state = models.TextField(verbose_name=_("state"))

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        db_table = "eventlog_snapshot"
        constraints = [
            models.UniqueConstraint(fields=["stream_id", "aggregate"], name="eventlog_snapshot_stream_aggregate")
        ]

    def __str__(self) -> str:
        return f"{self.aggregate} {self.stream_id}@{self.version}"


class Checkpoint(models.Model):
    """Where an asynchronous subscriber is in the global order; moved in the same transaction as its effect."""

    name = models.CharField(max_length=100, primary_key=True, verbose_name=_("name"))
    position = models.BigIntegerField(default=0, verbose_name=_("position"))
    unknown_skipped = models.BigIntegerField(default=0, verbose_name=_("unknown skipped"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        db_table = "eventlog_checkpoint"

    def __str__(self) -> str:
        return f"{self.name}@{self.position}"
