"""A writer chosen as a deadlock victim runs again when it owns the transaction (PostgreSQL, MariaDB).

The deadlock is real: another connection holds stream X's head and waits for stream Y's head, which the
writer's ``decide`` locked before its append reaches for X. The other connection is made the one the server
spares (InnoDB rolls back the transaction with less work done; PostgreSQL's victim is the first to reach its
``deadlock_timeout``, so the other connection waits 10 s before checking). SQLite has no row locks.
"""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from controlplane.eventlog.aggregates import AggregateSpec, execute
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.store import StreamRef, append, stream_version
from tests.eventlog.events import ThingHappened

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite locks the whole database: no deadlock"),
]

META = Metadata(tenant_id="t-1", actor=Actor("system", "deadlock-test"))
X = StreamRef("testing.thing", "thing-x")
Y = StreamRef("testing.thing", "thing-y")
HEAVY = StreamRef("testing.thing", "thing-heavy")
WAIT = 60  # seconds: a bound on each hand-off, far past the 1 s the server takes to detect the deadlock

SPEC = AggregateSpec(
    name="testing.count",
    initial=int,
    evolve=lambda state, event: state + 1,
    to_snapshot=lambda state: {"n": state},
    from_snapshot=lambda data: data["n"],
)


def _lock_head(stream: StreamRef) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM eventlog_stream WHERE stream_id = %s FOR UPDATE", [stream.id])


class _Rival(threading.Thread):
    """Holds X's head with much work done, then waits for Y's head until the writer lets go of it."""

    def __init__(self, writer_holds_y: threading.Event) -> None:
        super().__init__(daemon=True)
        self.holds_x = threading.Event()
        self.writer_holds_y = writer_holds_y
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL deadlock_timeout = '10s'")
                _lock_head(X)
                append(HEAVY, 0, [ThingHappened(n) for n in range(300)], META)  # the heavier transaction
                self.holds_x.set()
                assert self.writer_holds_y.wait(WAIT)
                _lock_head(Y)  # closes the cycle; the writer is the victim
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            connections.close_all()


def _deadlocking_decide(rival: _Rival, writer_holds_y: threading.Event, calls: list[int]):
    def decide(state: int) -> list[object]:
        calls.append(state)
        assert rival.holds_x.wait(WAIT)
        _lock_head(Y)
        writer_holds_y.set()
        return [ThingHappened(len(calls))]  # the append then waits for X, held by the rival

    return decide


@pytest.fixture
def streams() -> None:
    append(X, 0, [ThingHappened(0)], META)
    append(Y, 0, [ThingHappened(0)], META)


def test_a_deadlock_victim_that_owns_its_transaction_runs_again(streams):
    writer_holds_y = threading.Event()
    rival = _Rival(writer_holds_y)
    rival.start()
    calls: list[int] = []
    recorded = execute(SPEC, X, _deadlocking_decide(rival, writer_holds_y, calls), META)
    rival.join(WAIT)
    assert not rival.is_alive() and rival.errors == []
    assert len(calls) == 2  # decided, rolled back by the server, decided again on fresh state
    assert [e.version for e in recorded] == [2]
    assert stream_version(X.id) == 2 and stream_version(HEAVY.id) == 300


def test_inside_a_callers_transaction_the_deadlock_propagates(streams):
    writer_holds_y = threading.Event()
    rival = _Rival(writer_holds_y)
    rival.start()
    calls: list[int] = []
    with pytest.raises(DatabaseError):
        with transaction.atomic():  # the caller owns the transaction: only it can run it again
            execute(SPEC, X, _deadlocking_decide(rival, writer_holds_y, calls), META)
    rival.join(WAIT)
    assert not rival.is_alive() and rival.errors == []
    assert len(calls) == 1
    assert stream_version(X.id) == 1
