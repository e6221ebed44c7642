"""The runner with control-plane steps on the configured database: one handler call per advance, under a lease.

The tasks the runner queues are not sent (a test transaction never commits); ``drive`` plays the worker by calling
``runner.advance`` the way each queued task would.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from controlplane.eventlog.models import Event
from controlplane.operations import actions, runner
from controlplane.operations import lease as leases
from controlplane.operations.domain.states import TERMINAL
from controlplane.operations.models import Operation, OperationLease, OperationStep
from controlplane.operations.steps import step_kind
from tests.operations.conftest import person
from tests.operations.kinds import lines, recorded_steps

pytestmark = pytest.mark.django_db


def request(place, steps: list[dict]) -> str:  # type: ignore[no-untyped-def]
    return actions.do_request_operation(
        metadata=place.meta, cluster=place.cluster, type="testing.steps", params={"steps": steps}
    )


def drive(operation_id: str, calls: int = 200) -> Operation:
    for _ in range(calls):
        runner.advance(operation_id)
        op = Operation.unscoped.get(id=operation_id)
        if op.state in {str(s) for s in TERMINAL}:
            return op
    raise AssertionError(f"operation {operation_id} did not finish: {Operation.unscoped.get(id=operation_id).state}")


def event_names(operation_id: str) -> list[str]:
    rows = Event.objects.filter(stream_id=f"operation-{operation_id}").order_by("version")
    return [e.event_type.removeprefix("operations.") for e in rows]


def payloads(operation_id: str, name: str) -> list[dict]:
    rows = Event.objects.filter(stream_id=f"operation-{operation_id}", event_type=f"operations.{name}")
    return [json.loads(e.payload) for e in rows.order_by("version")]


def steps_of(operation_id: str) -> dict[str, str]:
    return {s.key: s.state for s in OperationStep.unscoped.filter(operation_id=operation_id)}


def test_a_plan_of_control_plane_steps_succeeds_each_side_effect_once(place, tmp_path):
    log = tmp_path / "effects"
    op_id = request(place, recorded_steps(log, "a", "b", "c"))
    assert Operation.unscoped.get(id=op_id).state == "PENDING"
    op = drive(op_id)
    assert op.state == "SUCCEEDED" and op.steps_done == 3 and op.started_at and op.finished_at
    assert lines(log) == [f"{op_id}:{k}:do:1" for k in "abc"]
    assert event_names(op_id) == [
        "operation_requested",
        "operation_started",
        *["step_started", "step_succeeded"] * 3,
        "operation_succeeded",
    ]
    assert op.result["steps"]["b"]["result"] == {"key": f"{op_id}:b:do:1"}
    lease = OperationLease.objects.get(operation_id=op_id)
    assert lease.active is False and lease.owner == ""
    assert runner.advance(op_id) == "busy"  # a late duplicate of a finished operation: nothing to hold, nothing done
    assert len(event_names(op_id)) == 9


def test_a_transient_error_is_retried_as_a_new_attempt(place, tmp_path):
    log = tmp_path / "effects"
    op_id = request(place, [{"key": "flaky", "kind": "testing.flaky", "params": {"file": str(log), "succeed_at": 3}}])
    op = drive(op_id)
    assert op.state == "SUCCEEDED"
    assert lines(log) == [f"{op_id}:flaky:do:{n}" for n in (1, 2, 3)]
    failed = payloads(op_id, "step_failed")
    assert [e["retry_at"] is not None for e in failed] == [True, True]
    assert all(e["transient"] and e["error_code"] == "TESTING_TRANSIENT" for e in failed)
    assert event_names(op_id).count("step_failed") == 2


def test_a_transient_error_that_outlasts_its_attempts_fails_the_operation(place, tmp_path):
    log = tmp_path / "effects"
    op_id = request(
        place,
        [{"key": "flaky", "kind": "testing.flaky", "max_attempts": 2, "params": {"file": str(log), "succeed_at": 9}}],
    )
    op = drive(op_id)
    assert op.state == "FAILED" and op.error_code == "TESTING_TRANSIENT" and op.failed_step == "flaky"
    assert len(lines(log)) == 2


def test_a_final_failure_is_not_retried_and_compensates_in_reverse(place, tmp_path):
    log = tmp_path / "effects"
    p = {"file": str(log)}
    op_id = request(
        place,
        [
            {"key": "a", "kind": "testing.record", "compensation": "testing.undo", "params": p},
            {"key": "b", "kind": "testing.record", "params": p},
            {"key": "c", "kind": "testing.record", "compensation": "testing.undo", "params": p},
            {"key": "d", "kind": "testing.fail", "params": p},
            {"key": "e", "kind": "testing.record", "params": p},
        ],
    )
    op = drive(op_id)
    assert op.state == "ROLLED_BACK" and op.error_code == "TESTING_BROKEN" and op.failed_step == "d"
    assert lines(log) == [
        f"{op_id}:a:do:1",
        f"{op_id}:b:do:1",
        f"{op_id}:c:do:1",
        f"{op_id}:d:do:1",  # once: a final error is not retried
        f"{op_id}:c:undo:1",
        f"{op_id}:a:undo:1",
    ]
    assert steps_of(op_id) == {
        "a": "COMPENSATED",
        "b": "SUCCEEDED",
        "c": "COMPENSATED",
        "d": "FAILED",
        "e": "SKIPPED",
    }
    names = event_names(op_id)
    assert names[names.index("step_failed") :] == [
        "step_failed",
        "operation_rollback_started",
        "step_skipped",
        "step_compensation_started",
        "step_compensation_succeeded",
        "step_compensation_started",
        "step_compensation_succeeded",
        "operation_rolled_back",
    ]


def test_a_failure_without_compensations_fails_the_operation(place, tmp_path):
    p = {"file": str(tmp_path / "effects")}
    op_id = request(
        place, [{"key": "a", "kind": "testing.record", "params": p}, {"key": "x", "kind": "testing.fail", "params": p}]
    )
    op = drive(op_id)
    assert op.state == "FAILED" and op.error_code == "TESTING_BROKEN"
    assert "operation_failed" in event_names(op_id) and "operation_rollback_started" not in event_names(op_id)


def test_cancel_between_steps_starts_nothing_new_and_compensates(place, tmp_path):
    log = tmp_path / "effects"
    p = {"file": str(log)}
    op_id = request(
        place,
        [
            {"key": "a", "kind": "testing.record", "compensation": "testing.undo", "params": p},
            {"key": "b", "kind": "testing.record", "params": p},
            {"key": "c", "kind": "testing.record", "params": p},
        ],
    )
    assert runner.advance(op_id) == "advanced"  # a is done; b is next
    row = Operation.unscoped.get(id=op_id)
    actions.do_cancel_operation(metadata=person(place, "ops"), operation=row, reason="change window closed")
    assert Operation.unscoped.get(id=op_id).state == "CANCELLING"
    op = drive(op_id)
    assert op.state == "CANCELLED" and op.cancel_requested_by == "user:ops"
    assert lines(log) == [f"{op_id}:a:do:1", f"{op_id}:a:undo:1"]
    assert steps_of(op_id) == {"a": "COMPENSATED", "b": "SKIPPED", "c": "SKIPPED"}
    assert payloads(op_id, "operation_cancel_requested")[0]["reason"] == "change window closed"
    assert event_names(op_id)[-1] == "operation_cancelled"


def test_cancel_reaches_a_step_that_waits(place, tmp_path):
    log = tmp_path / "effects"
    p = {"file": str(log)}
    op_id = request(
        place,
        [
            {"key": "a", "kind": "testing.record", "compensation": "testing.undo", "params": p},
            {"key": "hold", "kind": "testing.hold", "params": {**p, "release": str(tmp_path / "never")}},
        ],
    )
    runner.advance(op_id)
    assert runner.advance(op_id) == "waiting"  # hold started and waits, without holding the worker
    assert OperationLease.objects.get(operation_id=op_id).owner == ""
    actions.do_cancel_operation(metadata=place.meta, operation=Operation.unscoped.get(id=op_id))
    op = drive(op_id)
    assert op.state == "CANCELLED"
    assert steps_of(op_id)["hold"] == "FAILED"
    assert OperationStep.unscoped.get(operation_id=op_id, key="hold").error_code == "OPERATION_STEP_CANCELLED"
    assert lines(log)[-1] == f"{op_id}:a:undo:1"


def test_a_pending_operation_is_cancelled_at_once_and_a_finished_one_refuses(place, tmp_path):
    op_id = request(place, recorded_steps(tmp_path / "effects", "a"))
    actions.do_cancel_operation(metadata=place.meta, operation=Operation.unscoped.get(id=op_id))
    assert Operation.unscoped.get(id=op_id).state == "CANCELLED"
    assert runner.advance(op_id) == "CANCELLED"
    assert lines(tmp_path / "effects") == []
    from controlplane.errors import DomainError

    with pytest.raises(DomainError) as info:
        actions.do_cancel_operation(metadata=place.meta, operation=Operation.unscoped.get(id=op_id))
    assert info.value.code == "OPERATION_NOT_CANCELLABLE"


def test_a_lease_held_by_another_worker_is_left_alone_until_it_expires(place, tmp_path):
    log = tmp_path / "effects"
    op_id = request(place, recorded_steps(log, "a", "b"))
    runner.advance(op_id)  # a done
    # another worker takes the lease, records b's start and dies before recording its outcome
    other = leases.acquire(op_id, seconds=60)
    assert other is not None and leases.acquire(op_id, seconds=60) is None
    facts, _ = actions.load_operation(op_id)
    actions.do_start_step(metadata=place.meta, lease=other, operation=facts, key="b", attempt=1, compensating=False)
    (log.open("a")).write(f"{op_id}:b:do:1\n")  # its side effect happened
    before = event_names(op_id)
    assert runner.advance(op_id) == "busy"
    assert event_names(op_id) == before
    OperationLease.objects.filter(operation_id=op_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    op = drive(op_id)
    assert op.state == "SUCCEEDED"
    assert lines(log) == [f"{op_id}:a:do:1", f"{op_id}:b:do:1"]  # resumed under the same key: not done twice
    names = event_names(op_id)
    assert names.count("step_started") == 2 and names.count("step_resumed") == 1
    assert OperationLease.objects.get(operation_id=op_id).takeovers == 1
    # the dead worker wakes up: its outcome is refused, the log does not move
    with pytest.raises(leases.LeaseLost):
        actions.do_settle_operation(metadata=place.meta, lease=other, operation=facts)
    assert event_names(op_id) == names


def test_duplicate_deliveries_do_nothing_extra(place, tmp_path):
    log = tmp_path / "effects"
    op_id = request(place, [{"key": "flaky", "kind": "testing.flaky", "params": {"file": str(log), "succeed_at": 2}}])
    runner.advance(op_id)  # attempt 1 fails transiently
    from django.test import override_settings

    with override_settings(OPERATION_RETRY_BASE_SECONDS=3600):
        op_id2 = request(
            place, [{"key": "flaky", "kind": "testing.flaky", "params": {"file": str(log), "succeed_at": 2}}]
        )
        runner.advance(op_id2)
        before = event_names(op_id2)
        # two more deliveries while the retry's backoff runs: both see the wait and record nothing
        assert runner.advance(op_id2) == "waiting"
        assert runner.advance(op_id2) == "waiting"
        assert event_names(op_id2) == before
    held = leases.acquire(op_id, seconds=60)  # a delivery in flight...
    assert runner.advance(op_id) == "busy"  # ...and its duplicate
    leases.release(held, wake_at=timezone.now())
    assert drive(op_id).state == "SUCCEEDED"
    assert lines(log).count(f"{op_id}:flaky:do:2") == 1


def test_a_step_past_its_soft_time_limit_is_a_transient_failure(place, tmp_path):
    calls = []

    @step_kind("testing.slow_once")
    def slow_once(ctx):  # type: ignore[no-untyped-def]
        calls.append(ctx.attempt)
        if ctx.attempt == 1:
            raise SoftTimeLimitExceeded()
        from controlplane.operations.steps import Done

        return Done({})

    op_id = request(place, [{"key": "s", "kind": "testing.slow_once"}])
    assert drive(op_id).state == "SUCCEEDED"
    assert calls == [1, 2]
    (failed,) = payloads(op_id, "step_failed")
    assert failed["error_code"] == "STEP_TIMED_OUT" and failed["transient"] is True


def test_recovery_finds_expired_leases_and_missed_wake_ups_only(place, tmp_path, settings):
    settings.OPERATION_LEASE_SECONDS = 5
    settings.OPERATION_RECOVER_INTERVAL_SECONDS = 1
    ids = [request(place, recorded_steps(tmp_path / "effects", "a")) for _ in range(4)]
    now = timezone.now()
    lost, expired, held, _fresh = ids
    OperationLease.objects.filter(operation_id=lost).update(wake_at=now - timedelta(seconds=60))
    OperationLease.objects.filter(operation_id=expired).update(
        owner="dead", expires_at=now - timedelta(seconds=1), wake_at=None
    )
    OperationLease.objects.filter(operation_id=held).update(owner="alive", expires_at=now + timedelta(seconds=30))
    assert sorted(runner.recover()) == sorted([lost, expired])
    assert runner.recover() == []  # marked: not re-queued again before the grace passes
    # cancelled before any worker started it: recovery retires its lease instead of queueing it forever
    cancelled = request(place, recorded_steps(tmp_path / "effects", "a"))
    actions.do_cancel_operation(metadata=place.meta, operation=Operation.unscoped.get(id=cancelled))
    OperationLease.objects.filter(operation_id=cancelled).update(wake_at=now - timedelta(seconds=60))
    assert runner.recover() == [cancelled]
    assert OperationLease.objects.get(operation_id=cancelled).active is False
    assert runner.recover() == []


def test_dry_run_plans_without_writing(place, tmp_path):
    before = Event.objects.count()
    planned = actions.plan_operation(
        cluster=place.cluster, type="testing.steps", params={"steps": recorded_steps(tmp_path / "x", "a", "b")}
    )
    assert [s.key for s in planned.steps] == ["a", "b"]
    assert Event.objects.count() == before and not Operation.unscoped.exists()


def test_a_failed_compensation_ends_the_operation_failed_after_the_others_ran(place, tmp_path):
    log = tmp_path / "effects"
    p = {"file": str(log)}
    op_id = request(
        place,
        [
            {"key": "a", "kind": "testing.record", "compensation": "testing.undo", "params": p},
            {"key": "b", "kind": "testing.record", "compensation": "testing.undo_fails", "params": p},
            {"key": "c", "kind": "testing.fail", "params": p},
        ],
    )
    op = drive(op_id)
    assert op.state == "FAILED" and op.error_code == "OPERATION_COMPENSATION_FAILED" and op.failed_step == "b"
    assert lines(log)[-2:] == [f"{op_id}:b:undo:1", f"{op_id}:a:undo:1"]
    assert steps_of(op_id) == {"a": "COMPENSATED", "b": "COMPENSATION_FAILED", "c": "FAILED"}
    (failed,) = payloads(op_id, "step_compensation_failed")
    assert failed["error_code"] == "TESTING_UNDO_BROKEN" and failed["retry_at"] is None
    assert event_names(op_id).count("step_compensation_failed") == 1


def test_a_wait_step_frees_the_worker_and_notes_its_deadline(place, tmp_path):
    op_id = request(place, [{"key": "w", "kind": "control.wait", "params": {"seconds": 0.3}}])
    assert runner.advance(op_id) == "waiting"
    lease = OperationLease.objects.get(operation_id=op_id)
    assert lease.owner == "" and lease.wake_at > timezone.now()  # recovery knows when it is due
    (note,) = payloads(op_id, "step_progressed")
    assert note["detail"]["attempt"] == 1 and "until" in note["detail"]
    assert event_names(op_id)[-1] == "step_progressed"  # the wait is noted, the step not yet finished
    op = drive(op_id, calls=10_000)
    assert op.state == "SUCCEEDED"
    assert OperationStep.unscoped.get(operation_id=op_id).message.startswith("waiting until")


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_lease_exactly_one_wins(tmp_path):
    from django.db import connection, connections

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers in one process; the race is run on PostgreSQL and MariaDB")
    import threading

    from tests.operations.conftest import make_place

    place = make_place()
    op_id = request(place, recorded_steps(tmp_path / "effects", "a"))
    barrier = threading.Barrier(4)
    won: list[leases.Lease] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            barrier.wait()
            got = leases.acquire(op_id, seconds=60)
            if got is not None:
                won.append(got)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(won) == 1
    assert OperationLease.objects.get(operation_id=op_id).owner == won[0].owner


def test_operation_read_models_rebuild_row_for_row(place, tmp_path):
    from controlplane.eventlog.maintenance import rebuild
    from tests.eventlog.fingerprint import read_model_fingerprint

    p = {"file": str(tmp_path / "effects")}
    drive(
        request(
            place,
            [
                {"key": "a", "kind": "testing.record", "compensation": "testing.undo", "params": p},
                {"key": "f", "kind": "testing.flaky", "params": {**p, "succeed_at": 2}},
                {"key": "x", "kind": "testing.fail", "params": p},
                {"key": "z", "kind": "testing.record", "params": p},
            ],
        )
    )
    cancelled = request(place, recorded_steps(tmp_path / "effects", "a", "b"))
    runner.advance(cancelled)
    actions.do_cancel_operation(metadata=place.meta, operation=Operation.unscoped.get(id=cancelled))
    before = read_model_fingerprint()
    assert before["operations_operationstep"]
    rebuild()
    assert read_model_fingerprint() == before
