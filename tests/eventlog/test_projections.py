"""Projectors, subscribers, upcasting, unknown types, snapshots, rebuild and verification."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from controlplane.audit.models import AuditRecord
from controlplane.eventlog import projectors, types
from controlplane.eventlog.aggregates import AggregateSpec, execute, load
from controlplane.eventlog.errors import UpcastMissing
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Checkpoint, Event, Snapshot
from controlplane.eventlog.projectors import Projector, Subscription, handles
from controlplane.eventlog.store import StreamRef, append, read_stream
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant, Workspace
from tests.eventlog.events import ReceiptRecorded, ThingHappened
from tests.eventlog.fingerprint import drain, immutability_triggers_disabled, read_all, read_model_fingerprint

pytestmark = pytest.mark.django_db

S = StreamRef(type="testing.thing", id="thing-1")
# The tenancy writers act as the control plane here: these tests are about the log, not about who acts.
SYSTEM = Metadata.for_system(None, reason="tests")


class Boom(Exception):
    pass


class ExplodingProjector(Projector):
    name = "testing.exploding"

    @handles("testing.thing_happened")
    def on_thing(self, event):
        if event.data.n == 13:
            raise Boom("unlucky")


@pytest.fixture
def exploding():
    projectors.register(ExplodingProjector())
    yield
    projectors.unregister("testing.exploding")


def test_sync_projector_failure_rolls_back_the_append(meta, exploding):
    append(S, 0, [ThingHappened(1)], meta)
    with pytest.raises(Boom):
        append(S, 1, [ThingHappened(2), ThingHappened(13)], meta)
    assert [e.version for e in read_stream(S.id)] == [1]


def test_read_models_follow_the_log_in_the_same_transaction(meta):
    tenant_id = tenancy.do_create_tenant(metadata=SYSTEM, name="Acme", slug="acme")
    tenancy.do_create_workspace(metadata=SYSTEM, tenant_id=tenant_id, name="ETL", slug="etl")
    tenancy.do_rename_tenant(metadata=SYSTEM, tenant_id=tenant_id, name="Acme Corp")
    tenant = Tenant.objects.get(id=tenant_id)
    assert (tenant.name, tenant.slug, tenant.version) == ("Acme Corp", "acme", 3)
    assert Workspace.objects.get(tenant=tenant).slug == "etl"
    events = read_stream(f"tenant-{tenant_id}")
    assert [e.metadata.tenant_id for e in events] == [tenant_id] * 3
    assert [e.event_type for e in events] == [
        "tenancy.tenant_created",
        "tenancy.workspace_created",
        "tenancy.tenant_renamed",
    ]


def test_domain_errors_write_nothing(meta):
    tenant_id = tenancy.do_create_tenant(metadata=SYSTEM, name="Acme", slug="acme")
    before = Event.objects.count()
    for call in (
        lambda: tenancy.do_create_tenant(metadata=SYSTEM, name="Again", slug="acme"),
        lambda: tenancy.do_create_tenant(metadata=SYSTEM, name="Bad", slug="Not A Slug"),
        lambda: tenancy.do_create_workspace(metadata=SYSTEM, tenant_id=tenant_id, name="", slug="ok"),
        lambda: tenancy.do_create_workspace(metadata=SYSTEM, tenant_id="nope", name="W", slug="w"),
    ):
        with pytest.raises(Exception) as info:
            call()
        assert info.value.code in {
            "TENANT_SLUG_TAKEN",
            "TENANCY_SLUG_INVALID",
            "TENANCY_NAME_INVALID",
            "TENANT_NOT_FOUND",
        }
    assert Event.objects.count() == before


def test_upcaster_reads_a_version_1_event_as_version_2(meta):
    @types.event_type("testing.limit_set", version=1)
    @dataclass(frozen=True)
    class LimitSetV1:
        limit: int

    try:
        append(S, 0, [LimitSetV1(limit=5)], meta)
        types.unregister("testing.limit_set")

        @types.event_type("testing.limit_set", version=2)
        @dataclass(frozen=True)
        class LimitSet:
            limit: int
            unit: str

        with pytest.raises(UpcastMissing):
            read_stream(S.id)

        @types.upcaster("testing.limit_set", from_version=1)
        def add_unit(payload):
            return {**payload, "unit": "rows"}

        append(S, 1, [LimitSet(limit=7, unit="bytes")], meta)
        events = read_stream(S.id)
        assert [e.schema_version for e in events] == [1, 2]
        assert events[0].data == LimitSet(limit=5, unit="rows")
        assert events[1].data == LimitSet(limit=7, unit="bytes")
        assert Event.objects.order_by("position").first().payload == '{"limit":5}'  # stored row unchanged
    finally:
        types.unregister("testing.limit_set")


class Counting(Projector):
    name = "testing.counting"

    def __init__(self):
        super().__init__()
        self.seen: list[int] = []

    @handles("testing.thing_happened")
    def on_thing(self, event):
        self.seen.append(event.data.n)


def test_projectors_and_subscribers_skip_unknown_types_and_count_them(meta):
    @types.event_type("testing.future_happened")
    @dataclass(frozen=True)
    class FromTheFuture:
        x: int

    append(S, 0, [ThingHappened(1), FromTheFuture(1), ThingHappened(2)], meta)
    types.unregister("testing.future_happened")  # as if the code rolled back one release

    counting = Counting()
    counting.apply(read_all())
    assert counting.seen == [1, 2] and counting.unknown_skipped == 1

    handled: list[int] = []
    sub = Subscription("testing.sub", lambda events: handled.extend(e.position for e in events))
    drain(sub)
    checkpoint = Checkpoint.objects.get(name="testing.sub")
    assert len(handled) == 2 and checkpoint.unknown_skipped == 1
    assert checkpoint.position == Event.objects.order_by("-position").first().position


def receipts_handler(events):
    for event in events:
        if isinstance(event.data, ThingHappened):
            if event.data.n == 666:
                raise Boom("handler failed mid-batch")
            stream = StreamRef("testing.receipts", "receipts")
            version = len(read_stream("receipts"))
            append(stream, version, [ReceiptRecorded(event.position)], Metadata.for_system("t-test", reason="tests"))


def test_subscriber_effect_and_checkpoint_commit_together(meta):
    append(S, 0, [ThingHappened(1), ThingHappened(2)], meta)
    sub = Subscription("testing.receipts", receipts_handler)
    drain(sub)
    append(S, 2, [ThingHappened(3), ThingHappened(666)], meta)
    with pytest.raises(Boom):
        drain(sub)
    receipts = read_stream("receipts")
    # the failed batch left neither a receipt nor a moved checkpoint behind
    assert sorted(e.data.position for e in receipts) == [e.position for e in read_stream(S.id)[:2]]
    assert Checkpoint.objects.get(name="testing.receipts").position == receipts[-1].position


@dataclass(frozen=True)
class Tally:
    total: int = 0
    count: int = 0


def make_spec(replays: list[int], every: int = 100, schema: int = 1) -> AggregateSpec[Tally]:
    def evolve(state: Tally, event) -> Tally:
        replays.append(event.version)
        return Tally(state.total + event.data.n, state.count + 1)

    return AggregateSpec(
        name="testing.tally",
        initial=Tally,
        evolve=evolve,
        to_snapshot=lambda s: {"total": s.total, "count": s.count},
        from_snapshot=lambda d: Tally(**d),
        snapshot_every=every,
        snapshot_schema=schema,
    )


def test_snapshots_spare_replaying_long_streams(meta):
    replays: list[int] = []
    spec = make_spec(replays)
    for n in range(1, 251):
        execute(spec, S, lambda state, n=n: [ThingHappened(n)], meta)
    snap = Snapshot.objects.get(stream_id=S.id, aggregate="testing.tally")
    assert snap.version == 200
    replays.clear()
    state, version = load(spec, S.id)
    assert (state, version) == (Tally(total=sum(range(1, 251)), count=250), 250)
    assert replays == list(range(201, 251))  # only the events after the snapshot
    # a new snapshot schema ignores the old snapshot and replays everything, with the same result
    replays.clear()
    assert load(make_spec(replays, schema=2), S.id) == (state, 250)
    assert len(replays) == 250


def test_rebuild_projections_reproduces_read_models_row_for_row(meta):
    ids = []
    for i in range(5):
        tid = tenancy.do_create_tenant(metadata=SYSTEM, name=f"T{i}", slug=f"t{i}")
        ids.append(tid)
        for j in range(3):
            tenancy.do_create_workspace(metadata=SYSTEM, tenant_id=tid, name=f"W{j}", slug=f"w{j}")
    tenancy.do_rename_tenant(metadata=SYSTEM, tenant_id=ids[0], name="Renamed")
    before = read_model_fingerprint()
    # damage the read models: rebuild must put them back exactly
    Workspace.objects.filter(tenant_id=ids[1]).delete()
    Tenant.objects.filter(id=ids[2]).update(name="tampered")
    out = StringIO()
    call_command("rebuild_projections", stdout=out)
    assert "tenancy: replayed 21 events" in out.getvalue()
    assert "tenancy_workspace: 3 inserted, 0 updated, 0 deleted" in out.getvalue()
    assert "tenancy_tenant: 0 inserted, 1 updated, 0 deleted" in out.getvalue()
    assert read_model_fingerprint() == before
    audit = AuditRecord.objects.get(action="command.rebuild_projections")
    assert (audit.result, audit.actor_kind) == ("ok", "system") and "manage.py" in audit.actor_id


def test_rebuild_refuses_an_unknown_projector():
    with pytest.raises(CommandError, match="no projector named nope"):
        call_command("rebuild_projections", "nope")


def test_verify_eventlog_passes_on_an_intact_log(meta):
    tenancy.do_create_tenant(metadata=SYSTEM, name="Acme", slug="acme")
    append(S, 0, [ThingHappened(1), ThingHappened(2)], meta)
    out = StringIO()
    call_command("verify_eventlog", stdout=out)
    assert "ok: 3 events" in out.getvalue()


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("column, value", [("payload", '{"label":"","n":99}'), ("actor_id", "mallory")])
def test_verify_eventlog_names_the_first_altered_event(meta, column, value):
    append(S, 0, [ThingHappened(1), ThingHappened(2), ThingHappened(3)], meta)
    second = Event.objects.get(stream_id=S.id, version=2).position
    with immutability_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE eventlog_event SET {column} = %s WHERE position = %s", [value, second])
    with pytest.raises(CommandError) as info:
        call_command("verify_eventlog")
    assert f"EVENTLOG_CHAIN_BROKEN: event #{second} ({S.id} version 2)" in str(info.value)
