"""The pure core of alerts: matchers, fingerprints, inhibition, rule validation, and the three aggregates'
transition tables (no database)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from controlplane.alerts.domain import alert, rules, silence
from controlplane.alerts.domain.errors import (
    AlertNotFiring,
    AlertReceiverPayloadInvalid,
    AlertRuleInvalid,
    AlertSilenceEnded,
    AlertSilenceInvalid,
)
from controlplane.alerts.domain.events import AlertFired, AlertResolved
from controlplane.alerts.domain.matching import (
    ActiveSilence,
    FiringAlert,
    Matcher,
    fingerprint,
    group_key,
    inhibited_by,
    parse_matchers,
    silenced_by,
)
from controlplane.alerts.domain.receiver import parse_webhook

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@dataclass
class Recorded:
    data: object
    recorded_at: datetime = NOW


def play(state, events, evolve):  # type: ignore[no-untyped-def]
    for event in events:
        state = evolve(state, Recorded(event))
    return state


# -- matchers, fingerprints -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value", "have", "expected"),
    [
        ("=", "c1", "c1", True),
        ("=", "c1", "c2", False),
        ("!=", "c1", "c2", True),
        ("!=", "db", None, True),  # absent is the empty string, as in Alertmanager
        ("=~", "c.", "c1", True),
        ("=~", "c", "c1", False),  # anchored
        ("!~", "prod-.*", "test-1", True),
        ("!~", "prod-.*", "prod-1", False),
    ],
)
def test_matchers_follow_alertmanager(op, value, have, expected):
    labels = {} if have is None else {"cluster": have}
    name = "team" if have is None else "cluster"
    assert Matcher(name, op, value).matches(labels) is expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("cluster=c1", "matchers"),
        ([{"name": "1bad", "op": "=", "value": "x"}], "matchers[0].name"),
        ([{"name": "a", "op": "~", "value": "x"}], "matchers[0].op"),
        ([{"name": "a", "op": "=~", "value": "("}], "matchers[0].value"),
        ([{"name": "a", "op": "=", "value": 3}], "matchers[0].value"),
        ([{"name": "a", "value": "x", "extra": 1}], "matchers[0]"),
    ],
)
def test_bad_matchers_name_their_field(raw, field):
    with pytest.raises(AlertSilenceInvalid) as info:
        parse_matchers(raw, error=AlertSilenceInvalid, field="matchers")
    assert info.value.code == "ALERT_SILENCE_INVALID"
    assert info.value.details["field"] == field


def test_a_fingerprint_is_stable_and_depends_on_origin_and_identity_only():
    a = fingerprint("rule-1", {"cluster": "c1", "job": "j1"})
    assert a == fingerprint("rule-1", {"job": "j1", "cluster": "c1"})  # label order does not matter
    assert a != fingerprint("rule-2", {"cluster": "c1", "job": "j1"})
    assert a != fingerprint("rule-1", {"cluster": "c1", "job": "j2"})
    assert len(a) == 32
    assert group_key(["job", "cluster"], {"cluster": "c1", "job": "j1", "x": "y"}) == '{}:{cluster="c1",job="j1"}'


def test_a_cluster_down_alert_inhibits_the_job_alerts_of_its_cluster_only():
    down = FiringAlert("down", {"kind": "cluster_unreachable", "cluster": "c1"})
    job_here = FiringAlert("job1", {"kind": "run_failed", "cluster": "c1"})
    job_elsewhere = FiringAlert("job2", {"kind": "run_failed", "cluster": "c2"})
    agent = FiringAlert("agent", {"kind": "agent_lost", "cluster": "c1"})
    firing = [down, job_here, job_elsewhere, agent]
    assert inhibited_by(job_here, firing) == ["down"]
    assert inhibited_by(job_elsewhere, firing) == []
    assert inhibited_by(agent, firing) == []  # not a job alert
    assert inhibited_by(down, firing) == []  # a source is never muted by its own rule


def test_a_silence_mutes_only_inside_its_window():
    s = ActiveSilence("s1", [Matcher("cluster", "=", "c1")], NOW, NOW + timedelta(hours=1))
    assert silenced_by({"cluster": "c1"}, [s], NOW) == ["s1"]
    assert silenced_by({"cluster": "c1"}, [s], NOW - timedelta(seconds=1)) == []
    assert silenced_by({"cluster": "c1"}, [s], NOW + timedelta(hours=1)) == []
    assert silenced_by({"cluster": "c2"}, [s], NOW) == []


# -- rules ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"name": "x", "kind": "nope"}, "kind"),
        ({"kind": "run_failed"}, "name"),
        ({"name": "", "kind": "run_failed"}, "name"),
        ({"name": "x", "kind": "run_failed", "severity": "page"}, "severity"),
        ({"name": "x", "kind": "run_failed", "params": {"seconds": 3}}, "params.seconds"),
        ({"name": "x", "kind": "run_failed", "for_seconds": 30}, "for_seconds"),
        ({"name": "x", "kind": "run_stuck", "params": {}}, "params.seconds"),
        ({"name": "x", "kind": "run_stuck", "params": {"seconds": 5, "states": ["FAILED"]}}, "params.states"),
        ({"name": "x", "kind": "no_progress", "params": {"seconds": 60, "metric": "Bytes"}}, "params.metric"),
        ({"name": "x", "kind": "low_throughput", "params": {"below": 0}}, "params.below"),
        ({"name": "x", "kind": "low_throughput", "params": {"below": float("inf")}}, "params.below"),
        ({"name": "x", "kind": "threshold", "params": {"quantity": "cpu", "op": ">", "value": 1}}, "params.quantity"),
        (
            {"name": "x", "kind": "threshold", "params": {"quantity": "runs_failed", "op": ">", "value": 1}},
            "params.window_seconds",
        ),
        (
            {"name": "x", "kind": "threshold", "params": {"quantity": "runs_failed", "op": "=>", "value": 1}},
            "params.op",
        ),
        ({"name": "x", "kind": "run_failed", "labels": {"a-b": "x"}}, "labels"),
        ({"name": "x", "kind": "run_failed", "channel_ids": ["ok", "no spaces"]}, "channel_ids"),
        ({"name": "x", "kind": "run_failed", "group_by": ["cluster", "cluster"]}, "group_by"),
        ({"name": "x", "kind": "run_failed", "repeat_interval_seconds": 10}, "repeat_interval_seconds"),
        ({"name": "x", "kind": "run_failed", "secret": 1}, "secret"),
    ],
)
def test_a_bad_rule_is_refused_with_its_field(raw, field):
    with pytest.raises(AlertRuleInvalid) as info:
        rules.check_new_rule(raw)
    assert info.value.code == "ALERT_RULE_INVALID"
    assert info.value.details["field"] == field


@pytest.mark.parametrize("kind", rules.KINDS)
def test_a_kinds_declared_parameters_are_those_its_check_takes_their_defaults_and_examples_passing(kind):
    declared = rules.PARAMETERS.get(kind, ())
    first = {p.name: p.default if p.default is not None else p.example for p in declared}  # a new form's values
    given = {name: list(v) if isinstance(v, tuple) else v for name, v in first.items() if v is not None}
    checked = rules.check_params(kind, given)
    assert {name: checked[name] for name in given} == {k: sorted(v) if k == "states" else v for k, v in given.items()}
    for p in declared:
        assert p.type in ("seconds", "number", "choice", "choices")
        assert bool(p.choices) == (p.type in ("choice", "choices"))
        if p.choices:
            assert set([first[p.name]] if p.type == "choice" else first[p.name]) <= set(p.choices)
    assert [p.name for p in declared if first[p.name] is None] == (["window_seconds"] if kind == "threshold" else [])
    if not declared:
        with pytest.raises(AlertRuleInvalid):
            rules.check_params(kind, {"seconds": 60})


def test_a_rule_gets_defaults_and_moves_only_along_its_table():
    events = rules.create_rule(
        rules.RuleState(), rule_id="r1", tenant_id="t", workspace_id="w", raw={"name": "failed", "kind": "run_failed"}
    )
    state = play(rules.RuleState(), events, rules.evolve)
    assert state.fields["severity"] == "warning"
    assert state.fields["group_by"] == ["cluster"]
    assert state.fields["repeat_interval_seconds"] == rules.DEFAULT_REPEAT_SECONDS
    assert rules.update_rule(state, raw={"severity": "warning"}) == []  # unchanged: nothing to record
    state = play(state, rules.update_rule(state, raw={"enabled": False, "severity": "critical"}), rules.evolve)
    assert (state.status, state.fields["severity"]) == (rules.RuleStatus.DISABLED, "critical")
    state = play(state, rules.delete_rule(state), rules.evolve)
    assert state.status == rules.RuleStatus.DELETED
    assert rules.TRANSITIONS[rules.RuleStatus.DELETED] == frozenset()
    assert rules.from_snapshot(rules.to_snapshot(state)) == state


# -- alerts -----------------------------------------------------------------------------------------------------
def firing(fp: str = "f1") -> alert.Firing:
    return alert.Firing(
        fingerprint=fp,
        source="controlplane",
        rule_id="r1",
        rule_name="failed",
        severity="critical",
        labels={"cluster": "c1"},
        annotations={},
        summary="run failed",
        channel_ids=["ch1"],
        group_key="{}:{}",
        repeat_interval_seconds=3600,
    )


def fire(state: alert.AlertState, muted: list[str] | None = None, at: datetime = NOW) -> list[object]:
    return alert.fire(
        state,
        firing(),
        tenant_id="t",
        workspace_id="w",
        starts_at=at,
        silenced_by=muted or [],
        inhibited_by=[],
    )


def test_every_alert_state_has_a_row_and_the_table_is_followed():
    assert set(alert.TRANSITIONS) == set(alert.AlertStatus)
    for current, target in itertools.product(alert.AlertStatus, alert.AlertStatus):
        assert (target in alert.TRANSITIONS[current]) == (
            (current, target)
            in {
                (alert.AlertStatus.INACTIVE, alert.AlertStatus.FIRING),
                (alert.AlertStatus.FIRING, alert.AlertStatus.RESOLVED),
                (alert.AlertStatus.RESOLVED, alert.AlertStatus.FIRING),
            }
        )


def test_firing_twice_changes_nothing_and_each_episode_is_numbered():
    state = alert.AlertState()
    first = fire(state)
    assert isinstance(first[0], AlertFired) and first[0].episode == 1 and first[0].notify
    state = play(state, first, alert.evolve)
    assert fire(state) == []  # deduplicated
    assert alert.resolve(alert.AlertState(), ends_at=NOW, reason="x") == []  # never fired
    resolved = alert.resolve(state, ends_at=NOW + timedelta(minutes=5), reason="condition_cleared")
    assert isinstance(resolved[0], AlertResolved) and resolved[0].status == "resolved"
    assert resolved[0].ends_at == (NOW + timedelta(minutes=5)).isoformat()
    state = play(state, resolved, alert.evolve)
    assert alert.resolve(state, ends_at=NOW, reason="x") == []
    with pytest.raises(AlertNotFiring):
        alert.acknowledge(state, by="user:a", at=NOW, comment="")
    assert fire(state) == []  # an event older than the resolution (a replay, a late event) starts no episode
    again = fire(state, at=NOW + timedelta(minutes=6))
    assert again[0].episode == 2
    assert alert.resolve(play(state, again, alert.evolve), ends_at=NOW, reason="x") == []  # older than the episode
    assert alert.from_snapshot(alert.to_snapshot(state)) == state


def test_reminders_wait_for_the_repeat_interval_and_skip_muted_or_acknowledged_alerts():
    state = play(alert.AlertState(), fire(alert.AlertState()), alert.evolve)
    assert alert.remind(state, now=NOW + timedelta(minutes=59)) == []
    assert len(alert.remind(state, now=NOW + timedelta(hours=1))) == 1
    muted = play(alert.AlertState(), fire(alert.AlertState(), muted=["s1"]), alert.evolve)
    assert alert.remind(muted, now=NOW + timedelta(days=1)) == []
    acked = play(state, alert.acknowledge(state, by="user:a", at=NOW, comment="on it"), alert.evolve)
    assert alert.remind(acked, now=NOW + timedelta(days=1)) == []
    assert alert.acknowledge(acked, by="user:b", at=NOW, comment="") == []  # acknowledged once per episode


# -- silences ---------------------------------------------------------------------------------------------------
def new_silence(**raw: object) -> list[object]:
    body = {"matchers": [{"name": "cluster", "op": "=", "value": "c1"}], "reason": "maintenance", **raw}
    return silence.create_silence(
        silence.SilenceState(), silence_id="s1", tenant_id="t", workspace_id="w", raw=body, author="user:a", now=NOW
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "ends_at"),  # a silence with no end
        ({"ends_at": None}, "ends_at"),
        ({"ends_at": "tomorrow"}, "ends_at"),
        ({"ends_at": "2026-12-05T12:00:00"}, "ends_at"),  # no offset
        ({"ends_at": (NOW - timedelta(hours=1)).isoformat()}, "ends_at"),
        ({"ends_at": (NOW + timedelta(hours=1)).isoformat(), "matchers": []}, "matchers"),
        ({"ends_at": (NOW + timedelta(hours=1)).isoformat(), "reason": " "}, "reason"),
        ({"ends_at": (NOW + timedelta(days=400)).isoformat()}, "ends_at"),
    ],
)
def test_a_bad_silence_is_refused_with_its_field(raw, field):
    with pytest.raises(AlertSilenceInvalid) as info:
        new_silence(**raw)
    assert info.value.details["field"] == field


def test_a_silence_ends_or_expires_once():
    state = play(silence.SilenceState(), new_silence(ends_at="2026-12-04T13:00:00Z"), silence.evolve)
    assert silence.expire_silence(state, now=NOW) == []  # its end is ahead
    assert len(silence.expire_silence(state, now=NOW + timedelta(hours=1))) == 1
    ended = play(state, silence.end_silence(state, by="user:a", now=NOW), silence.evolve)
    assert ended.status == silence.SilenceStatus.ENDED
    with pytest.raises(AlertSilenceEnded):
        silence.end_silence(ended, by="user:a", now=NOW)
    assert silence.expire_silence(ended, now=NOW + timedelta(days=1)) == []
    assert silence.TRANSITIONS[silence.SilenceStatus.EXPIRED] == frozenset()


# -- the receiver's body ----------------------------------------------------------------------------------------
def am_alert(**changes: object) -> dict:
    return {
        "status": "firing",
        "labels": {"alertname": "SeaTunnelNodeDown", "cluster": "c1", "severity": "critical"},
        "annotations": {"summary": "node down"},
        "startsAt": "2026-12-04T11:59:30.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "c6a1c5b7e3f2a1d0",
        **changes,
    }


def test_an_alertmanager_body_is_read_with_nanoseconds_and_go_zero_times():
    body = {"version": "4", "status": "firing", "receiver": "cp", "groupKey": "{}:{}", "alerts": [am_alert()]}
    [received] = parse_webhook(body)
    assert received.starts_at == datetime(2026, 12, 4, 11, 59, 30, 123456, tzinfo=UTC)
    assert received.ends_at is None
    assert (received.severity, received.summary) == ("critical", "node down")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"version": "3", "status": "firing", "alerts": [am_alert()]}, "version"),
        ({"version": "4", "status": "on", "alerts": [am_alert()]}, "status"),
        ({"version": "4", "status": "firing", "alerts": []}, "alerts"),
        (
            {"version": "4", "status": "firing", "alerts": [am_alert(labels={"cluster": "c1"})]},
            "alerts[0].labels.alertname",
        ),
        (
            {"version": "4", "status": "firing", "alerts": [am_alert(), am_alert(startsAt="yesterday")]},
            "alerts[1].startsAt",
        ),
        ({"version": "4", "status": "resolved", "alerts": [am_alert(status="resolved")]}, "alerts[0].endsAt"),
        ({"version": "4", "status": "firing", "alerts": [am_alert(annotations={"a": 1})]}, "alerts[0].annotations.a"),
    ],
)
def test_a_malformed_alertmanager_body_names_where(body, field):
    with pytest.raises(AlertReceiverPayloadInvalid) as info:
        parse_webhook(body)
    assert info.value.code == "ALERT_RECEIVER_PAYLOAD_INVALID"
    assert info.value.details["field"] == field


# -- notices ----------------------------------------------------------------------------------------------------
def test_notices_go_out_for_unmuted_alerts_only():
    from controlplane.alerts.domain.events import AlertAcknowledged, AlertSuppressionChanged
    from controlplane.alerts.domain.notices import outgoing_for

    [fired] = fire(alert.AlertState())
    out = outgoing_for(fired, position=10)
    assert out is not None and (out.channel_ids, out.dedup_key) == (("ch1",), "f1:1:firing")
    assert (out.notice.kind, out.notice.status, out.notice.fingerprint) == ("alert", "firing", "f1")
    assert out.notice.labels == tuple(sorted(out.notice.labels)) and out.notice.ends_at is None
    [muted] = fire(alert.AlertState(), muted=["s1"])
    assert outgoing_for(muted, position=11) is None  # silenced: recorded, not sent
    state = play(alert.AlertState(), [muted], alert.evolve)
    [unmuted] = alert.set_muting(state, silenced_by=[], inhibited_by=[])
    assert isinstance(unmuted, AlertSuppressionChanged)
    paged = outgoing_for(unmuted, position=12)
    assert paged is not None and (paged.notice.status, paged.dedup_key) == ("firing", "f1:1:unmuted:12")
    [acked] = alert.acknowledge(state, by="user:a", at=NOW, comment="")
    assert isinstance(acked, AlertAcknowledged) and outgoing_for(acked, position=13) is None
