"""The append's two ways in: the stream head as remembered by this process, or the database's own check.

An append to a stream whose head this process wrote last computes the hash chain here and moves the head
with a compare-and-set; everything else (and every compare-and-set that finds the head elsewhere) goes the
full way. Whatever the path, the result must be the same log: versions, positions in version order, the
hash chain, conflicts that write nothing.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from controlplane.eventlog import dialects, maintenance
from controlplane.eventlog.errors import ConcurrencyConflict, InvalidAppend
from controlplane.eventlog.models import Event, Stream
from controlplane.eventlog.store import StreamRef, append, read_stream
from tests.eventlog.events import ThingHappened

pytestmark = pytest.mark.django_db

S = StreamRef(type="testing.thing", id="thing-paths")


def _chain_intact() -> None:
    checked, broken = maintenance.verify()
    assert broken is None, str(broken)
    assert checked == Event.objects.count()


def test_a_big_batch_gets_positions_in_version_order(meta):
    first = append(S, 0, [ThingHappened(i) for i in range(60)], meta)
    second = append(S, 60, [ThingHappened(i) for i in range(60, 130)], meta)
    recorded = first + second
    assert [e.version for e in recorded] == list(range(1, 131))
    positions = [e.position for e in recorded]
    assert positions == sorted(positions) and len(set(positions)) == 130
    stored = read_stream(S.id)
    assert [(e.position, e.hash) for e in stored] == [(e.position, e.hash) for e in recorded]
    _chain_intact()


@pytest.mark.parametrize("remembered", ["nothing", "a wrong hash", "another version"])
def test_a_head_remembered_wrongly_or_not_at_all_still_appends_correctly(meta, remembered):
    append(S, 0, [ThingHappened(1), ThingHappened(2)], meta)
    key = (connection.alias, S.id)
    if remembered == "nothing":
        dialects._heads.pop(key, None)
    elif remembered == "a wrong hash":
        dialects._heads[key] = {2: "0" * 64}
    else:
        dialects._heads[key] = {7: "0" * 64}
    recorded = append(S, 2, [ThingHappened(3)], meta)
    recorded += append(S, 3, [ThingHappened(4), ThingHappened(5)], meta)
    assert [e.version for e in recorded] == [3, 4, 5]
    assert Stream.objects.get(stream_id=S.id).last_hash == recorded[-1].hash
    _chain_intact()


def test_a_stale_version_conflicts_on_the_fast_path_and_writes_nothing(meta):
    append(S, 0, [ThingHappened(1)], meta)
    append(S, 1, [ThingHappened(2)], meta)
    before = Event.objects.count()
    for stale in (1, 0):
        with pytest.raises(ConcurrencyConflict):
            append(S, stale, [ThingHappened(9)], meta)
    with pytest.raises(ConcurrencyConflict):
        append(S, 5, [ThingHappened(9)], meta)
    assert Event.objects.count() == before
    assert Stream.objects.get(stream_id=S.id).version == 2


@pytest.mark.parametrize("size", [1, 3])
def test_a_head_remembered_from_before_another_writer_conflicts_and_writes_nothing(meta, size):
    # This process remembers version 1 (its hash is right: that event is in the log), but another writer has
    # since appended version 2: the guarded insert must meet the unique (stream, version), not fork the stream.
    first = append(S, 0, [ThingHappened(1)], meta)
    append(S, 1, [ThingHappened(2)], meta)
    dialects._heads[(connection.alias, S.id)] = {1: first[0].hash}
    before = Event.objects.count()
    with pytest.raises(ConcurrencyConflict) as caught:
        append(S, 1, [ThingHappened(9)] * size, meta)
    assert caught.value.details["actual_version"] == 2
    assert Event.objects.count() == before
    _chain_intact()


def test_an_append_rolled_back_with_its_transaction_leaves_no_trace(meta):
    append(S, 0, [ThingHappened(1)], meta)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        append(S, 1, [ThingHappened(2)], meta)
        raise Undo
    # This process remembers the head at version 2; the database is still at 1.
    with pytest.raises(ConcurrencyConflict):
        append(S, 2, [ThingHappened(3)], meta)
    recorded = append(S, 1, [ThingHappened(20)], meta)
    assert [e.data for e in read_stream(S.id)] == [ThingHappened(1), ThingHappened(20)]
    assert recorded[0].hash == Stream.objects.get(stream_id=S.id).last_hash
    _chain_intact()


def test_a_stream_of_another_type_is_refused_on_every_path(meta):
    append(S, 0, [ThingHappened(1)], meta)
    other = StreamRef(type="testing.other", id=S.id)
    with pytest.raises(InvalidAppend):
        append(other, 1, [ThingHappened(2)], meta)
    with pytest.raises(ConcurrencyConflict):
        append(other, 0, [ThingHappened(2)], meta)
    assert Event.objects.count() == 1


def test_the_batch_chain_is_exactly_event_hash():
    from controlplane.eventlog.dialects import Batch
    from controlplane.eventlog.hashing import event_hash
    from controlplane.eventlog.types import spec_for_event

    spec = spec_for_event(ThingHappened(1))
    encoded = [(spec, {}, '{"label":"é","n":1}'), (spec, {}, '{"label":"","n":2}')]
    meta = ("t-1", None, "user", "alice", "req", "", "", "::1")
    batch = Batch(S, 7, encoded, meta, None, 1_700_000_000_123_456, "t-1")
    expected, prev = [], "ab" * 32
    for version, (_, _, text) in enumerate(encoded, 8):
        prev = event_hash(prev, S.id, version, spec.wire_name, spec.version, text, meta, 1_700_000_000_123_456)
        expected.append(prev)
    assert batch.chain("ab" * 32) == expected


def test_flat_payloads_get_the_same_text_as_the_standard_encoder():
    import json

    from controlplane.eventlog.store import _payload_text

    standard = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    code_points = [*range(0, 0xD800), *range(0xE000, 0x110000, 11)]
    for cp in code_points:
        payload = {"z": f"a{chr(cp)}b", chr(cp): cp, "n": None, "t": True}
        assert _payload_text(payload) == standard.encode(payload), hex(cp)
    for payload in ({"big": 2**70}, {"f": 1e16}, {"l": [1, "x"]}, {"d": {"b": 1, "a": 2}}, {"neg": -(2**63)}):
        assert _payload_text(payload) == standard.encode(payload)
    with pytest.raises(ValueError):
        _payload_text({"f": float("nan")})


def test_awkward_payload_text_is_stored_exactly_on_both_paths(meta):
    labels = ['é "quoted" \\ back', "tab\tnew\nline", "{braces},[1]", "NULL", ""]
    append(S, 0, [ThingHappened(i, label) for i, label in enumerate(labels)], meta)  # known head
    dialects._heads.pop((connection.alias, S.id), None)
    append(S, 5, [ThingHappened(i, label) for i, label in enumerate(labels)], meta)  # the database's own path
    assert [e.data.label for e in read_stream(S.id)] == labels * 2
    _chain_intact()


def test_reads_give_back_what_the_append_returned_whatever_the_path(meta):
    """Every read path (GlobalReader, read_stream, rebuild's decode_rows) gives the append's own events back:
    on SQLite recorded_at comes back as text and is parsed once per distinct value (dialects.SQLITE_READ_COLUMNS)."""
    import gc

    from controlplane.eventlog.reader import GlobalReader
    from controlplane.eventlog.records import decode_rows

    recorded = append(S, 0, [ThingHappened(i) for i in range(3)], meta)
    recorded += append(S, 3, [ThingHappened(3)], meta)
    keys = [(e.position, e.version, e.recorded_at, e.hash, e.data, e.metadata) for e in recorded]
    polled = GlobalReader().poll(recorded[0].position - 1)
    assert [(e.position, e.version, e.recorded_at, e.hash, e.data, e.metadata) for e in polled] == keys
    assert [(e.position, e.version, e.recorded_at, e.hash, e.data, e.metadata) for e in read_stream(S.id)] == keys
    assert all(e.recorded_at.tzinfo is not None for e in polled)
    # decode_rows pauses the cyclic collector only while it decodes, and leaves a paused one paused.
    rows = GlobalReader(decode=False).poll(recorded[0].position - 1)
    assert gc.isenabled()
    assert [e.hash for e in decode_rows(rows)] == [e.hash for e in recorded]
    assert gc.isenabled()
    gc.disable()
    try:
        decode_rows(rows)
        assert not gc.isenabled()
    finally:
        gc.enable()
    _chain_intact()


def test_sqlite_reads_heads_from_events_and_positions_without_autoincrement(meta):
    # Migration 0004: what the SQLite append relies on (positions = the rowid, the highest plus one; no head
    # rows to move). A later migration that rebuilds the table through Django would bring AUTOINCREMENT back.
    if connection.vendor != "sqlite":
        pytest.skip("the other databases keep their head rows and sequences (ADR 0002)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, sql FROM sqlite_master WHERE name IN ('eventlog_event', 'eventlog_stream')")
        schema = dict(cursor.fetchall())
    assert "AUTOINCREMENT" not in schema["table"]
    assert "VIEW eventlog_stream" in schema["view"]
    recorded = append(S, 0, [ThingHappened(1), ThingHappened(2)], meta) + append(S, 2, [ThingHappened(3)], meta)
    head = Stream.objects.get(stream_id=S.id)
    assert (head.version, head.last_hash, head.stream_type) == (3, recorded[-1].hash, S.type)
    assert [e.position for e in recorded] == [e.position for e in read_stream(S.id)]
