"""The operation aggregate without a database: transitions, next moves, fencing, compensation, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.operations.domain import aggregate as agg
from controlplane.operations.domain.aggregate import OperationAggregate, StaleAttempt, next_move
from controlplane.operations.domain.plan import StepSpec, batches
from controlplane.operations.domain.states import (
    TERMINAL,
    TRANSITIONS,
    OperationState,
    OperationTransitionIllegal,
    StepState,
    check_transition,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def summary(op: OperationAggregate) -> dict:
    return {"done": [s.key for s, st in zip(op.plan, op.steps, strict=True) if st.state == StepState.SUCCEEDED]}


def build(*steps: StepSpec) -> OperationAggregate:
    events = agg.request(
        OperationAggregate(),
        operation_id="op1",
        tenant_id="t",
        workspace_id="w",
        cluster_id="c",
        type="testing.steps",
        params={},
        plan=list(steps),
        notes=[],
        requested_by="user:ops",
    )
    return apply(OperationAggregate(), events)


def apply(op: OperationAggregate, events: list[object]) -> OperationAggregate:
    for event in events:
        op = agg.evolve(op, event)
    return op


def names(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


def run_step(
    op: OperationAggregate, key: str, *, ok: bool = True, transient: bool = False
) -> tuple[OperationAggregate, list[object]]:
    move = next_move(op, NOW)
    assert op.plan[move.index].key == key, move
    op = apply(op, agg.start_step(op, key=key, attempt=move.attempt))
    if ok:
        events = agg.complete_step(op, key=key, attempt=move.attempt, result={"k": key}, summarize=summary)
    else:
        events = agg.fail_step(
            op,
            key=key,
            attempt=move.attempt,
            error_code="BROKEN",
            error="no",
            transient=transient,
            now=NOW,
            retry_in=5,
            summarize=summary,
        )
    return apply(op, events), events


def step(key: str, **kw: object) -> StepSpec:
    return StepSpec(key=key, kind="testing.record", title=key, **kw)  # type: ignore[arg-type]


def test_the_transition_table_is_closed_and_terminal_states_are_final():
    for state in OperationState:
        assert state in TRANSITIONS
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()
    check_transition(OperationState.RUNNING, OperationState.CANCELLING)
    with pytest.raises(OperationTransitionIllegal):
        check_transition(OperationState.SUCCEEDED, OperationState.RUNNING)
    with pytest.raises(OperationTransitionIllegal):
        check_transition(OperationState.ROLLING_BACK, OperationState.CANCELLING)


def test_a_plan_runs_in_order_and_succeeds_with_a_summary():
    op = build(step("a"), step("b"))
    assert next_move(op, NOW).kind == "start"
    op = apply(op, agg.start(op))
    op, _ = run_step(op, "a")
    op, events = run_step(op, "b")
    assert names(events) == ["StepSucceeded", "OperationSucceeded"]
    assert events[-1].result == {"done": ["a", "b"]}
    assert op.state == OperationState.SUCCEEDED and next_move(op, NOW).kind == "done"


def test_outcomes_are_fenced_by_attempt():
    op = build(step("a"))
    op = apply(op, agg.start(op))
    op = apply(op, agg.start_step(op, key="a", attempt=1))
    with pytest.raises(StaleAttempt):
        agg.complete_step(op, key="a", attempt=2, result={}, summarize=summary)
    with pytest.raises(StaleAttempt):
        agg.start_step(op, key="a", attempt=1)  # a started attempt is resumed, never started twice
    assert next_move(op, NOW) == agg.Move("step", 0, 1, new=False)


def test_a_transient_error_waits_for_its_backoff_then_starts_a_new_attempt():
    op = build(step("a", max_attempts=2))
    op = apply(op, agg.start(op))
    op, events = run_step(op, "a", ok=False, transient=True)
    assert events[0].retry_at == (NOW + timedelta(seconds=5)).isoformat()
    assert op.steps[0].state == StepState.RETRY_WAIT
    assert next_move(op, NOW).kind == "wait"
    assert next_move(op, NOW + timedelta(seconds=5)) == agg.Move("step", 0, 2, new=True)
    op = apply(op, agg.start_step(op, key="a", attempt=2))
    events = agg.fail_step(
        op, key="a", attempt=2, error_code="BROKEN", error="no", transient=True, now=NOW, retry_in=5, summarize=summary
    )
    assert names(events) == ["StepFailed", "OperationFailed"]  # attempts used up: final, nothing to compensate
    assert events[0].transient is True and events[0].retry_at is None


def test_a_final_failure_compensates_completed_steps_in_reverse():
    op = build(
        step("a", compensation="testing.undo"), step("b"), step("c", compensation="testing.undo"), step("d"), step("e")
    )
    op = apply(op, agg.start(op))
    for key in ("a", "b", "c"):
        op, _ = run_step(op, key)
    op, events = run_step(op, "d", ok=False)
    assert names(events) == ["StepFailed", "OperationRollbackStarted", "StepSkipped"]
    assert op.state == OperationState.ROLLING_BACK
    order = []
    while (move := next_move(op, NOW)).kind == "compensate":
        key = op.plan[move.index].key
        order.append(key)
        op = apply(op, agg.start_compensation(op, key=key, attempt=1))
        op = apply(op, agg.complete_compensation(op, key=key, attempt=1, result={}, summarize=summary))
    assert order == ["c", "a"]
    assert op.state == OperationState.ROLLED_BACK
    assert [s.state for s in op.steps] == [
        StepState.COMPENSATED,
        StepState.SUCCEEDED,
        StepState.COMPENSATED,
        StepState.FAILED,
        StepState.SKIPPED,
    ]


def test_a_compensation_that_fails_for_good_still_lets_the_others_run_and_the_operation_fails():
    op = build(step("a", compensation="testing.undo"), step("b", compensation="testing.undo"), step("c"))
    op = apply(op, agg.start(op))
    op, _ = run_step(op, "a")
    op, _ = run_step(op, "b")
    op, _ = run_step(op, "c", ok=False)
    op = apply(op, agg.start_compensation(op, key="b", attempt=1))
    op = apply(
        op,
        agg.fail_compensation(
            op, key="b", attempt=1, error_code="X", error="x", transient=False, now=NOW, retry_in=1, summarize=summary
        ),
    )
    assert next_move(op, NOW).index == 0
    op = apply(op, agg.start_compensation(op, key="a", attempt=1))
    events = agg.complete_compensation(op, key="a", attempt=1, result={}, summarize=summary)
    op = apply(op, events)
    assert op.state == OperationState.FAILED and op.error_code == "OPERATION_COMPENSATION_FAILED"


def test_cancel_of_a_pending_operation_settles_at_once():
    op = build(step("a"), step("b"))
    events = agg.request_cancel(op, reason="no", requested_by="user:x", summarize=summary)
    assert names(events) == ["OperationCancelRequested", "StepSkipped", "StepSkipped", "OperationCancelled"]
    assert apply(op, events).state == OperationState.CANCELLED


def test_cancel_while_a_step_runs_lets_it_end_then_compensates():
    op = build(step("a", compensation="testing.undo"), step("b"), step("c"))
    op = apply(op, agg.start(op))
    op, _ = run_step(op, "a")
    op = apply(op, agg.start_step(op, key="b", attempt=1))
    op = apply(op, agg.request_cancel(op, reason="stop", requested_by="user:x", summarize=summary))
    assert op.state == OperationState.CANCELLING
    with pytest.raises(OperationTransitionIllegal):
        agg.start_step(op, key="c", attempt=1)
    assert next_move(op, NOW) == agg.Move("step", 1, 1, new=False)  # the running step goes on (and is told)
    op = apply(op, agg.complete_step(op, key="b", attempt=1, result={}, summarize=summary))
    assert next_move(op, NOW) == agg.Move("compensate", 0, 1, new=True)
    op = apply(op, agg.start_compensation(op, key="a", attempt=1))
    op = apply(op, agg.complete_compensation(op, key="a", attempt=1, result={}, summarize=summary))
    assert op.state == OperationState.CANCELLED
    assert op.steps[2].state == StepState.SKIPPED
    with pytest.raises(OperationTransitionIllegal) as info:
        agg.request_cancel(op, reason="again", requested_by="user:x", summarize=summary)
    assert info.value.code == "OPERATION_NOT_CANCELLABLE"


def test_continue_on_failure_skips_the_rest_of_the_batch_and_fails_at_the_end():
    op = build(
        step("b1.x", batch=1, continue_on_failure=True),
        step("b1.y", batch=1, continue_on_failure=True),
        step("b2.x", batch=2, continue_on_failure=True),
    )
    op = apply(op, agg.start(op))
    op, events = run_step(op, "b1.x", ok=False)
    assert names(events) == ["StepFailed", "StepSkipped"] and events[1].step == "b1.y"
    op, events = run_step(op, "b2.x")
    assert names(events) == ["StepSucceeded", "OperationFailed"]
    assert events[-1].error_code == "OPERATION_STEPS_FAILED" and events[-1].step == "b1.x"


def test_too_many_takeovers_of_one_attempt_fail_it_as_worker_lost():
    op = build(step("a", max_attempts=1))
    op = apply(op, agg.start(op))
    op = apply(op, agg.start_step(op, key="a", attempt=1))
    for n in (1, 2):
        events = agg.resume_step(op, key="a", attempt=1, max_resumes=2, now=NOW, retry_in=1)
        assert names(events) == ["StepResumed"] and events[0].resumes == n
        op = apply(op, events)
    events = agg.resume_step(op, key="a", attempt=1, max_resumes=2, now=NOW, retry_in=1)
    assert names(events) == ["StepFailed", "OperationFailed"] and events[0].error_code == "STEP_WORKER_LOST"


def test_snapshots_round_trip():
    op = build(step("a", compensation="testing.undo"), step("b"))
    op = apply(op, agg.start(op))
    op = apply(op, agg.start_step(op, key="a", attempt=1))
    op = apply(op, agg.progress_step(op, key="a", attempt=1, message="m", detail={"paused_run": "r1"}))
    assert agg.from_snapshot(agg.to_snapshot(op)) == op


def test_batches_cut_nodes_in_order():
    assert batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError):
        batches([1], 0)
