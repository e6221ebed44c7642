"""Crash safety with real processes: a Celery worker SIGKILLed in the middle of a step, and the broker (our own
redis-server) restarted in the middle of an operation. Each runs on whatever database the suite runs on (SQLite
here, PostgreSQL and MariaDB in `make test-matrix`), against a broker of the test's own: the embedded filesystem
broker in a private data directory, or a redis-server on a free port (never the shared one).

The steps are control-plane testing steps (tests/operations/kinds.py) whose side effect is a line keyed by
(operation, step, attempt) in a file; the worker imports them with ``--include``. The test process plays beat:
it sends ``operations.recover`` every half second, as the beat schedule would every
CONTROLPLANE_OPERATION_RECOVER_INTERVAL_SECONDS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from controlplane.eventlog.models import Event
from controlplane.operations import actions, runner
from controlplane.operations.models import Operation, OperationLease
from tests.operations.conftest import make_place
from tests.operations.kinds import lines, recorded_steps
from tests.operations.processes import Broker, RedisServer, Worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

LEASE = 3  # seconds (the workers' CONTROLPLANE_OPERATION_LEASE_SECONDS)


def waiting(check: Callable[[], bool], what: str, workers: list[Worker], tick=None, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``check``, naming ``what`` and showing the workers' logs on failure. ``tick`` plays beat: it runs
    before every check, every half second (the pace of the recover schedule, not a wait)."""

    def ticked() -> bool:
        if tick is not None:
            tick()
        return check()

    def logs() -> str:
        return what + "\n" + "\n".join(f"--- {w.log.name}\n{w.output()[-6000:]}" for w in workers)

    if tick is None:
        wait_until(check, timeout=timeout, interval=0.1, message=logs)
    else:
        wait_until(ticked, timeout=timeout, interval=0.5, message=logs)


def request_quietly(monkeypatch, steps: list[dict]) -> str:  # type: ignore[no-untyped-def]
    """Record the operation without queueing its first task on this process's own broker: the test sends it to
    the workers' broker itself."""
    place = make_place()
    with monkeypatch.context() as patch:
        patch.setattr(runner, "enqueue", lambda *args, **kwargs: None)
        return actions.do_request_operation(
            metadata=place.meta, cluster=place.cluster, type="testing.steps", params={"steps": steps}
        )


def state(operation_id: str) -> str:
    return Operation.unscoped.get(id=operation_id).state


def events(operation_id: str, name: str) -> list[dict]:
    rows = Event.objects.filter(stream_id=f"operation-{operation_id}", event_type=f"operations.{name}")
    return [json.loads(e.payload) for e in rows.order_by("version")]


@pytest.mark.parametrize("transport", ["filesystem", "redis"])
def test_a_worker_killed_mid_step_is_replaced_after_its_lease_and_no_side_effect_runs_twice(
    tmp_path, monkeypatch, transport
):
    redis = RedisServer(tmp_path / "redis") if transport == "redis" else None
    broker = Broker(tmp_path / "data", redis)
    effects = tmp_path / "effects"
    gate = tmp_path / "release-b"  # b holds until the test creates it: the first worker dies inside b
    steps = (
        recorded_steps(effects, "a") + recorded_steps(effects, "b", hold_until=str(gate)) + recorded_steps(effects, "c")
    )
    op_id = request_quietly(monkeypatch, steps)
    keys = [f"{op_id}:{k}:do:1" for k in "abc"]
    first = Worker("first", broker, tmp_path / "first.log")
    second = None
    try:
        first.wait_ready()
        assert broker.send("operations.advance_operation", op_id)
        waiting(lambda: keys[1] in lines(effects), "step b's side effect", [first])
        started = OperationLease.objects.get(operation_id=op_id).expires_at
        # b is held past its lease: its worker keeps renewing, so nobody may take it over meanwhile
        waiting(
            lambda: OperationLease.objects.get(operation_id=op_id).expires_at > started + timedelta(seconds=LEASE),
            "the lease to be renewed past its first expiry",
            [first],
        )
        assert events(op_id, "step_resumed") == []
        first.kill()  # mid-step: b has written its line and is held
        assert state(op_id) == "RUNNING"
        lease = OperationLease.objects.get(operation_id=op_id)
        assert lease.owner != "" and lease.active  # the dead worker's lease, left to expire
        gate.touch()  # b, resumed by the next worker, completes

        second = Worker("second", broker, tmp_path / "second.log")
        second.wait_ready()
        waiting(
            lambda: state(op_id) == "SUCCEEDED",
            "the operation to finish on the second worker",
            [first, second],
            tick=lambda: broker.send("operations.recover"),
        )
    finally:
        gate.touch()  # never leave a step held in a worker being stopped
        first.stop()
        if second is not None:
            second.stop()
        if redis is not None:
            redis.stop()
    assert lines(effects) == keys  # each side effect exactly once, in order
    resumed = events(op_id, "step_resumed")
    assert [(e["step"], e["attempt"]) for e in resumed] == [("b", 1)]  # the same attempt, under the same key
    assert [e["step"] for e in events(op_id, "step_started")] == ["a", "b", "c"]
    assert OperationLease.objects.get(operation_id=op_id).takeovers == 1
    assert "Task operations.advance_operation" in second.output()


def test_a_redis_restart_mid_operation_loses_nothing(tmp_path, monkeypatch):
    redis = RedisServer(tmp_path / "redis")
    broker = Broker(tmp_path / "data", redis)
    effects = tmp_path / "effects"
    names = ["a", "b", "c", "d", "e"]
    gate = tmp_path / "release-b"  # b holds until the test creates it: the restart happens mid-operation
    held = recorded_steps(effects, "b", hold_until=str(gate))
    op_id = request_quietly(monkeypatch, recorded_steps(effects, "a") + held + recorded_steps(effects, *names[2:]))
    worker = Worker("only", broker, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        assert broker.send("operations.advance_operation", op_id)
        waiting(lambda: f"{op_id}:b:do:1" in lines(effects), "step b's side effect", [worker])
        redis.restart()  # no persistence: every queued message (the next step's task) is gone
        gate.touch()
        waiting(
            lambda: state(op_id) == "SUCCEEDED",
            "the operation to finish after the restart",
            [worker],
            tick=lambda: broker.send("operations.recover"),
        )
    finally:
        gate.touch()
        worker.stop()
        redis.stop()
    assert lines(effects) == [f"{op_id}:{k}:do:1" for k in names]
    assert [e["step"] for e in events(op_id, "step_started")] == names
    assert OperationLease.objects.get(operation_id=op_id).active is False
