"""append(): optimistic concurrency, the hash chain, metadata, and bad input that writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from django.db import connection, transaction

from controlplane.eventlog import types
from controlplane.eventlog.errors import (
    ConcurrencyConflict,
    EventLogImmutable,
    InvalidAppend,
    MetadataMissing,
    PayloadNotSerializable,
    UnknownEventType,
)
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event, Stream
from controlplane.eventlog.store import StreamRef, append, read_stream, stream_version
from tests.eventlog.events import NotRegistered, PlatformTuned, ThingHappened

pytestmark = pytest.mark.django_db

S = StreamRef(type="testing.thing", id="thing-1")


def count() -> int:
    return Event.objects.count()


def test_append_assigns_versions_positions_and_chains_hashes(meta):
    first = append(S, 0, [ThingHappened(1), ThingHappened(2)], meta)
    second = append(S, 2, [ThingHappened(3)], meta)
    assert [e.version for e in first + second] == [1, 2, 3]
    positions = [e.position for e in first + second]
    assert positions == sorted(positions) and len(set(positions)) == 3
    stored = read_stream(S.id)
    assert [e.data for e in stored] == [ThingHappened(1), ThingHappened(2), ThingHappened(3)]
    assert [e.hash for e in stored] == [e.hash for e in first + second]
    assert len({e.hash for e in stored}) == 3
    assert stream_version(S.id) == 3
    head = Stream.objects.get(stream_id=S.id)
    assert head.last_hash == stored[-1].hash and head.stream_type == "testing.thing"


def test_metadata_is_stored_with_every_event(meta):
    append(S, 0, [ThingHappened(1)], meta)
    row = Event.objects.get(stream_id=S.id)
    assert (row.tenant_id, row.workspace_id, row.actor_kind, row.actor_id) == ("t-test", "w-test", "user", "alice")
    assert (row.request_id, row.correlation_id, row.client_address) == ("req-1", "corr-1", "127.0.0.1")
    assert row.event_type == "testing.thing_happened" and row.schema_version == 1
    assert row.payload == '{"label":"","n":1}'
    assert isinstance(read_stream(S.id)[0].recorded_at, datetime)
    assert read_stream(S.id)[0].recorded_at.tzinfo is not None


def test_stale_expected_version_conflicts_and_writes_nothing(meta):
    append(S, 0, [ThingHappened(1), ThingHappened(2)], meta)
    before = count()
    for stale in (0, 1, 3, 7):
        with pytest.raises(ConcurrencyConflict) as info:
            append(S, stale, [ThingHappened(9), ThingHappened(10)], meta)
        assert info.value.code == "EVENTLOG_CONCURRENCY_CONFLICT"
    assert count() == before and stream_version(S.id) == 2


def test_conflict_inside_an_outer_transaction_leaves_it_usable(meta):
    append(S, 0, [ThingHappened(1)], meta)
    with transaction.atomic():
        with pytest.raises(ConcurrencyConflict):
            append(S, 0, [ThingHappened(2)], meta)
        append(StreamRef("testing.thing", "thing-2"), 0, [ThingHappened(3)], meta)
    assert count() == 2


def test_payload_that_is_not_json_names_the_field_and_writes_nothing(meta):
    with pytest.raises(PayloadNotSerializable) as info:
        append(S, 0, [ThingHappened(1), ThingHappened({1, 2})], meta)  # type: ignore[arg-type]
    assert info.value.code == "EVENTLOG_PAYLOAD_NOT_JSON"
    assert info.value.details["fields"] == ["n"]
    with pytest.raises(PayloadNotSerializable):
        append(S, 0, [ThingHappened(float("nan"))], meta)  # type: ignore[arg-type]
    assert count() == 0 and stream_version(S.id) == 0


def test_unregistered_event_type_is_refused(meta):
    with pytest.raises(UnknownEventType) as info:
        append(S, 0, [ThingHappened(1), NotRegistered(1)], meta)
    assert info.value.code == "EVENTLOG_UNKNOWN_EVENT_TYPE"
    assert count() == 0


def test_missing_tenant_is_refused_unless_every_event_is_tenantless():
    no_tenant = Metadata(tenant_id=None, actor=Actor.system("test"))
    with pytest.raises(MetadataMissing) as info:
        append(S, 0, [ThingHappened(1)], no_tenant)
    assert info.value.code == "EVENTLOG_METADATA_MISSING"
    assert info.value.details["event_types"] == ["testing.thing_happened"]
    with pytest.raises(MetadataMissing):
        append(StreamRef("testing.platform", "platform"), 0, [PlatformTuned("a"), ThingHappened(1)], no_tenant)
    assert count() == 0
    append(StreamRef("testing.platform", "platform"), 0, [PlatformTuned("a")], no_tenant)
    assert count() == 1


def test_malformed_calls_are_refused(meta):
    with pytest.raises(InvalidAppend):
        append(S, 0, [], meta)
    with pytest.raises(InvalidAppend):
        append(S, -1, [ThingHappened(1)], meta)
    with pytest.raises(InvalidAppend):
        StreamRef("testing.thing", "x" * 101)
    with pytest.raises(InvalidAppend):
        append(S, 0, [ThingHappened(1)], Metadata(tenant_id="t" * 65, actor=Actor("user", "a")))
    append(S, 0, [ThingHappened(1)], meta)
    with pytest.raises(InvalidAppend) as info:
        append(StreamRef("testing.other", S.id), 1, [ThingHappened(2)], meta)
    assert info.value.code == "EVENTLOG_INVALID_APPEND"
    assert count() == 1


def test_orm_refuses_to_change_events(meta):
    append(S, 0, [ThingHappened(1)], meta)
    row = Event.objects.get()
    with pytest.raises(EventLogImmutable):
        Event.objects.filter(pk=row.pk).update(payload="{}")
    with pytest.raises(EventLogImmutable):
        Event.objects.all().delete()
    with pytest.raises(EventLogImmutable):
        row.save()
    with pytest.raises(EventLogImmutable):
        row.delete()
    assert Event.objects.get().payload == row.payload


@pytest.mark.skipif(connection.vendor == "sqlite", reason="only PostgreSQL and MariaDB have the trigger (ADR 0002)")
@pytest.mark.parametrize("statement", ["UPDATE eventlog_event SET payload = '{}'", "DELETE FROM eventlog_event"])
def test_database_trigger_refuses_update_and_delete(meta, statement):
    append(S, 0, [ThingHappened(1)], meta)
    with pytest.raises(Exception, match="EVENTLOG_IMMUTABLE"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert Event.objects.count() == 1


def test_registration_rejects_bad_wire_names_and_mutable_classes():
    with pytest.raises(ValueError):
        types.event_type("tenancy.TenantCreated")

    @dataclass
    class Mutable:
        n: int

    with pytest.raises(TypeError):
        types.event_type("testing.mutable_happened")(Mutable)
    with pytest.raises(ValueError):

        @types.event_type("testing.thing_happened")
        @dataclass(frozen=True)
        class Impostor:
            n: int
