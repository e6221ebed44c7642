"""A revoked agent's unfinished actions end through an event subscriber (``agents/subscribers.py``): after the
revocation commits, exactly once, and resumed after a crash between the revocation and the follow-on."""

from __future__ import annotations

import contextlib
import time

import pytest

from controlplane.agents import actions, dispatch
from controlplane.agents.subscribers import REVOKED_AGENTS_ACTIONS
from controlplane.eventlog.models import Checkpoint, Event
from tests.agents.helpers import authenticated, claim, make_place, register
from tests.eventlog.fingerprint import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked():  # type: ignore[no-untyped-def]
    """An agent with one queued and one delivered action, revoked: (agent id, queued id, delivered id)."""
    place = make_place()
    reg = register(place)
    ask = {"metadata": place.meta, "agent_id": reg.agent_id, "action_type": "service.status", "params": {}}
    delivered = dispatch.request_action(**ask, key="delivered")
    claim(authenticated(reg.credential))
    queued = dispatch.request_action(**ask, key="queued")
    actions.do_revoke_agent(metadata=place.meta, agent_id=reg.agent_id, reason="decommissioned")
    return reg.agent_id, queued, delivered


def action_events(action_id: str) -> list[str]:
    return list(
        Event.objects.filter(stream_id=f"action-{action_id}").order_by("version").values_list("event_type", flat=True)
    )


def test_the_follow_on_waits_for_the_subscriber_and_happens_once(revoked):
    agent_id, queued, delivered = revoked
    # the revocation committed and nothing ran after it (as if the process died right after the write)
    assert (dispatch.get_action(queued).state, dispatch.get_action(delivered).state) == ("PENDING", "DELIVERED")
    drain(REVOKED_AGENTS_ACTIONS)
    assert dispatch.get_action(queued).state == "CANCELLED"
    failed = dispatch.get_action(delivered)
    assert (failed.state, failed.error_code) == ("FAILED", "AGENT_REVOKED")
    revocation = Event.objects.get(stream_id=f"agent-{agent_id}", event_type="agents.agent_revoked")
    ended = Event.objects.filter(
        stream_id__in=[f"action-{queued}", f"action-{delivered}"], position__gt=revocation.position
    )
    assert {e.event_type for e in ended} == {
        "agents.action_cancel_requested",
        "agents.action_cancelled",
        "agents.action_failed",
    }
    assert {(e.actor_kind, e.actor_id, e.causation_id) for e in ended} == {
        ("system", REVOKED_AGENTS_ACTIONS.name, str(revocation.position))
    }
    before = {a: action_events(a) for a in (queued, delivered)}
    Checkpoint.objects.filter(name=REVOKED_AGENTS_ACTIONS.name).update(position=0)  # even replayed from the start
    drain(REVOKED_AGENTS_ACTIONS)
    assert {a: action_events(a) for a in (queued, delivered)} == before


def test_a_crash_in_the_follow_on_is_resumed_and_each_action_ends_once(revoked, monkeypatch):
    _, queued, delivered = revoked
    real = actions.do_end_action_of_revoked_agent
    calls: list[str] = []

    def dies_after_the_first(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["action_id"])
        if len(calls) == 2:
            raise SystemExit("the worker died mid-batch")
        real(**kwargs)

    monkeypatch.setattr(actions, "do_end_action_of_revoked_agent", dies_after_the_first)
    # the subscriber reaches the revocation once the reader deems it safe (at once on SQLite; on PostgreSQL after
    # the watermark passes it), and dies in the middle of its follow-on
    deadline = time.monotonic() + 10
    while len(calls) < 2:
        assert time.monotonic() < deadline, "the subscriber never reached the revocation"
        with contextlib.suppress(SystemExit):
            REVOKED_AGENTS_ACTIONS.run_until_idle()
    assert sorted(calls) == sorted([queued, delivered])  # died on the second: the first had ended
    # the first action's end was rolled back with the batch: the checkpoint did not move past the revocation
    assert (dispatch.get_action(queued).state, dispatch.get_action(delivered).state) == ("PENDING", "DELIVERED")
    monkeypatch.setattr(actions, "do_end_action_of_revoked_agent", real)
    drain(REVOKED_AGENTS_ACTIONS)
    assert action_events(queued).count("agents.action_cancelled") == 1
    assert action_events(delivered).count("agents.action_failed") == 1
