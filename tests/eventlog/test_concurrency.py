"""Many writers committing out of position order, with readers and a subscriber running at the same time.

Writers sleep at random inside their transactions (so a lower position often commits after a higher
one) and some roll back (so some positions never appear). Every reader must still see every committed
event exactly once, in position order; the live projections must equal ones rebuilt from scratch.
Runs on whatever database the suite runs on: SQLite here, PostgreSQL and MariaDB in `make test-matrix`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections, transaction

from controlplane.eventlog import maintenance
from controlplane.eventlog.dialects import is_deadlock
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.projectors import Subscription
from controlplane.eventlog.reader import GlobalReader
from controlplane.eventlog.store import StreamRef, append, stream_version
from controlplane.tenancy import actions as tenancy
from tests.eventlog.events import ThingHappened
from tests.eventlog.fingerprint import last_position, read_model_fingerprint
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

WRITERS = 8
APPENDS = 30
READERS = 3


class Abandon(Exception):
    """Raised inside a writer's transaction to roll it back after its positions were drawn."""


def _meta(i: int, tenant_id: str | None = None) -> Metadata:
    return Metadata(tenant_id=tenant_id or f"t-{i % 2}", actor=Actor("system", f"writer-{i}"))


def _writer(i: int, acked: list[int], errors: list[BaseException], slow: float) -> None:
    rng = random.Random(i)
    try:
        for k in range(APPENDS):
            stream = StreamRef("testing.thing", f"thing-{rng.randrange(6)}")  # shared streams: real conflicts
            while True:
                try:
                    with transaction.atomic():
                        time.sleep(rng.uniform(0, slow / 4))
                        version = stream_version(stream.id)
                        batch = [ThingHappened(k, f"w{i}") for _ in range(rng.randint(1, 3))]
                        recorded = append(stream, version, batch, _meta(i))
                        time.sleep(rng.uniform(0, slow))  # commit late, perhaps after higher positions
                        if rng.random() < 0.1:
                            raise Abandon
                    acked.extend(e.position for e in recorded)
                    break
                except Abandon:
                    break
                except ConcurrencyConflict:
                    continue  # reload and decide again, as a worker would
                except Exception as exc:
                    if not is_deadlock(exc):  # a deadlock victim's transaction is gone whole: run it again
                        raise
        if i < 2:  # two writers also drive a real aggregate with a synchronous projector
            tid = tenancy.do_create_tenant(metadata=_meta(i), name=f"Tenant {i}", slug=f"tenant-{i}")
            for w in range(5):
                tenancy.do_create_workspace(metadata=_meta(i, tid), tenant_id=tid, name=f"W{w}", slug=f"w{w}")
                time.sleep(rng.uniform(0, slow))
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        connections.close_all()


# The readers run alongside the writers: their bound (420 s) is past the test's joins (300 s + 120 s), which
# report a hang first.
def _reader(seen: list[int], done: threading.Event, errors: list[BaseException]) -> None:
    reader = GlobalReader(batch_size=50)
    after = [0]

    def caught_up() -> bool:
        """One poll, as a live reader runs them; done once the writers are and it has everything."""
        batch = reader.poll(after[0])
        seen.extend(e.position for e in batch)
        if batch:
            after[0] = batch[-1].position
            return False
        return done.is_set() and after[0] >= last_position()

    try:
        wait_until(caught_up, timeout=420, interval=0.002, message="the reader to read the whole log")
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


def _subscriber(live: Counter, done: threading.Event, errors: list[BaseException]) -> None:
    def project(events):
        for event in events:
            live[event.stream_id] += 1

    sub = Subscription("testing.live-counts", project, batch_size=40)

    def caught_up() -> bool:
        """One round of the subscriber; done once the writers are and its checkpoint is at the end."""
        if sub.run_once():
            return False
        return done.is_set() and sub.reader.poll(_checkpoint()) == [] and _checkpoint() >= last_position()

    try:
        wait_until(caught_up, timeout=420, interval=0.002, message="the subscriber to reach the end of the log")
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


def _checkpoint() -> int:
    from controlplane.eventlog.models import Checkpoint

    row = Checkpoint.objects.filter(name="testing.live-counts").first()
    return row.position if row else 0


def test_readers_never_skip_or_repeat_an_event_that_commits_late():
    slow = 0.002 if connection.vendor == "sqlite" else 0.01  # SQLite writers hold the one write lock
    acked: list[int] = []
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(READERS)]
    live: Counter = Counter()
    done = threading.Event()
    writers = [threading.Thread(target=_writer, args=(i, acked, errors, slow)) for i in range(WRITERS)]
    readers = [threading.Thread(target=_reader, args=(seen[r], done, errors)) for r in range(READERS)]
    subscriber = threading.Thread(target=_subscriber, args=(live, done, errors))
    for thread in [*readers, subscriber, *writers]:
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    done.set()
    for thread in [*readers, subscriber]:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in readers + writers + [subscriber])

    with connection.cursor() as cursor:
        cursor.execute("SELECT position, stream_id, version FROM eventlog_event ORDER BY position")
        rows = cursor.fetchall()
    committed = [row[0] for row in rows]
    thing_positions = [row[0] for row in rows if row[1].startswith("thing-")]
    assert sorted(acked) == thing_positions, "acknowledged appends and stored events differ"
    assert len(committed) > WRITERS * APPENDS * 0.8
    for r, positions in enumerate(seen):
        assert positions == committed, f"reader {r} saw {len(positions)} of {len(committed)} (or out of order)"

    # per stream: versions 1..n with no hole and no repeat
    versions: dict[str, list[int]] = {}
    for _, stream_id, version in rows:
        versions.setdefault(stream_id, []).append(version)
    for stream_id, vs in versions.items():
        assert sorted(vs) == list(range(1, len(vs) + 1)), stream_id

    # the live asynchronous projection equals one computed from scratch
    assert live == Counter(row[1] for row in rows)
    # the live synchronous read models equal ones rebuilt from the log
    before = read_model_fingerprint()
    assert len(before["tenancy_workspace"]) == 10
    maintenance.rebuild()
    assert read_model_fingerprint() == before
    assert maintenance.verify() == (len(rows), None)


def test_one_writer_wins_a_race_for_the_same_version():
    stream = StreamRef("testing.thing", "contended")
    append(stream, 0, [ThingHappened(0)], _meta(0))
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def racer(i: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                append(stream, 1, [ThingHappened(i), ThingHappened(i)], _meta(i))
                time.sleep(0.05)
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
    assert stream_version(stream.id) == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM eventlog_event WHERE stream_id = %s", [stream.id])
        assert cursor.fetchone()[0] == 3


def test_appends_outside_a_transaction_commit_on_their_own():
    """With no caller transaction and no synchronous projector, an append is one statement on PostgreSQL."""
    stream = StreamRef("testing.thing", "autocommit")
    first = append(stream, 0, [ThingHappened(1), ThingHappened(2)], _meta(0))
    append(stream, 2, [ThingHappened(3)], _meta(0))
    with pytest.raises(ConcurrencyConflict) as info:
        append(stream, 2, [ThingHappened(4)], _meta(0))
    assert info.value.details["actual_version"] == 3
    with pytest.raises(ConcurrencyConflict):
        append(stream, 0, [ThingHappened(5)], _meta(0))
    assert stream_version(stream.id) == 3
    assert [e.version for e in first] == [1, 2]
    assert maintenance.verify() == (3, None)  # hashes computed on the server equal the Python definition
