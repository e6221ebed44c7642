"""The run state machine: the transition table, refusals with a code, and the engine-state mapping."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.jobs.domain.runs import (
    TERMINAL,
    TRANSITIONS,
    RunState,
    RunTransitionIllegal,
    check_transition,
    from_engine,
)
from controlplane.seatunnel.states import JobState


def test_every_state_has_a_row_and_terminal_states_have_no_way_out():
    assert set(TRANSITIONS) == set(RunState)
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()


@pytest.mark.parametrize(("current", "target"), list(itertools.product(RunState, RunState)))
def test_check_transition_follows_the_table(current, target):
    if target == current or target in TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(RunTransitionIllegal) as info:
            check_transition(current, target)
        assert info.value.code == "RUN_TRANSITION_ILLEGAL"
        assert info.value.details == {"current": current.value, "target": target.value}


def test_unknown_is_only_left_on_evidence_and_never_for_a_guess():
    assert RunState.PENDING not in TRANSITIONS[RunState.UNKNOWN]
    assert RunState.SUBMITTING not in TRANSITIONS[RunState.UNKNOWN]
    assert from_engine(RunState.UNKNOWN, JobState.RUNNING) == RunState.RUNNING
    assert from_engine(RunState.UNKNOWN, JobState.UNKNOWABLE) == RunState.UNKNOWN


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([JobState.CREATED, JobState.SCHEDULED, JobState.RUNNING, JobState.FINISHED], RunState.SUCCEEDED),
        ([JobState.RUNNING, JobState.FAILING, JobState.FAILED], RunState.FAILED),
        ([JobState.RUNNING, JobState.DOING_SAVEPOINT, JobState.SAVEPOINT_DONE], RunState.PAUSED),
        ([JobState.RUNNING, JobState.CANCELING, JobState.CANCELED], RunState.STOPPED),
        ([JobState.FINISHED], RunState.SUCCEEDED),  # a short batch job seen only once it finished
    ],
)
def test_engine_paths_end_where_they_should(path, expected):
    state = RunState.SUBMITTING
    for engine in path:
        state = from_engine(state, engine)
    assert state == expected


def test_a_stale_poll_never_moves_a_run_backwards():
    assert from_engine(RunState.SUCCEEDED, JobState.RUNNING) == RunState.SUCCEEDED
    assert from_engine(RunState.STOPPING, JobState.SCHEDULED) == RunState.STOPPING
    assert from_engine(RunState.RUNNING, JobState.CREATED) == RunState.RUNNING


@given(st.sampled_from(list(RunState)), st.lists(st.sampled_from(list(JobState)), max_size=12))
def test_mapping_only_ever_takes_legal_steps(start, reports):
    state = start
    for engine in reports:
        following = from_engine(state, engine)
        check_transition(state, following)  # never raises
        state = following
