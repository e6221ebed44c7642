"""Real run, cluster and agent events fire and resolve alerts through the subscriber; silences and the cluster-down
inhibition mute them; the evaluator (called with a given ``now``) handles the time rules, expiry and reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from controlplane.alerts import actions, evaluate
from controlplane.alerts.domain.errors import AlertSilenceInvalid
from controlplane.alerts.models import Alert, AlertRule, Observation, Silence
from controlplane.eventlog.models import Event
from controlplane.jobs import run_actions
from controlplane.jobs.models import Run, RunTelemetry
from controlplane.seatunnel.states import JobState
from controlplane.tenancy.context import bound
from tests.alerts.helpers import channel, cluster_health, make_place, observe, rule, run, running, settle

pytestmark = pytest.mark.django_db


@pytest.fixture
def place():  # type: ignore[no-untyped-def]
    return make_place()


def alert_events(fp: str) -> list[str]:
    return list(Event.objects.filter(stream_id=f"alert-{fp}").order_by("version").values_list("event_type", flat=True))


def test_a_failed_run_fires_once_and_a_later_success_resolves(place):
    ops = channel(place)
    rule_id = rule(place, name="run failed", kind="run_failed", channel_ids=[ops], labels={"team": "etl"})
    first = running(place)
    observe(place, first, JobState.FAILED, error="java.lang.OutOfMemoryError: Java heap space")
    # the same job failing again (its submit refused, it never ran) while the alert fires: the same alert, unchanged
    second = run(place)
    run_actions.do_record_run_submission_started(metadata=place.meta, run=second)
    run_actions.do_record_run_submit_failed(metadata=place.meta, run=second, code="ZETA_REQUEST_REJECTED", message="no")
    settle()
    [alert] = Alert.unscoped.filter(rule_id=rule_id)
    assert (alert.status, alert.episode, alert.severity, alert.cluster) == ("firing", 1, "critical", place.cluster_id)
    assert alert.labels == {
        "alertname": "run failed",
        "kind": "run_failed",
        "severity": "critical",
        "source": "controlplane",
        "team": "etl",
        "cluster": place.cluster_id,
        "job": place.job_id,
    }
    assert (alert.annotations["run"], alert.annotations["job_name"]) == (first.id, "fake-to-console")
    assert alert.channel_ids == [ops]
    fired = Event.objects.get(stream_id=f"alert-{alert.id}", event_type="alerts.alert_fired")
    assert fired.actor_id == "alerts.evaluate_events" and fired.causation_id
    # a later run of the job succeeds: resolved, and the payload says everything a notifier needs
    third = running(place)
    observe(place, third, JobState.FINISHED)
    settle()
    assert alert_events(alert.id) == ["alerts.alert_fired", "alerts.alert_resolved"]
    resolved = Event.objects.get(stream_id=f"alert-{alert.id}", event_type="alerts.alert_resolved")
    payload = resolved.payload if isinstance(resolved.payload, dict) else __import__("json").loads(resolved.payload)
    assert {k: payload[k] for k in ("status", "rule_id", "rule_name", "fingerprint", "channel_ids", "reason")} == {
        "status": "resolved",
        "rule_id": rule_id,
        "rule_name": "run failed",
        "fingerprint": alert.id,
        "channel_ids": [ops],
        "reason": "condition_cleared",
    }
    assert payload["starts_at"] and payload["ends_at"] and payload["silenced_by"] == [] == payload["inhibited_by"]
    # replaying the events to the subscriber changes nothing
    from controlplane.alerts.subscribers import EVALUATE_EVENTS
    from controlplane.eventlog.models import Checkpoint

    Checkpoint.objects.filter(name=EVALUATE_EVENTS.name).update(position=0)
    settle()
    assert alert_events(alert.id) == ["alerts.alert_fired", "alerts.alert_resolved"]


def test_a_cluster_down_alert_inhibits_its_run_alerts_and_a_silence_mutes(place):
    rule(place, name="run failed", kind="run_failed")
    rule(place, name="cluster down", kind="cluster_unreachable")
    assert cluster_health(place, reachable=False) == ("clusters.cluster_unreachable",)
    failed = running(place)
    observe(place, failed, JobState.FAILED, error="lost the cluster")
    settle()
    down = Alert.unscoped.get(rule_name="cluster down")
    job = Alert.unscoped.get(rule_name="run failed")
    assert (down.status, down.inhibited) == ("firing", False)
    assert (job.status, job.inhibited, job.inhibited_by) == ("firing", True, [down.id])
    fired = Event.objects.get(stream_id=f"alert-{job.id}", event_type="alerts.alert_fired")
    assert "inhibited_by" in str(fired.payload) and down.id in str(fired.payload)  # decided when it fired
    # the cluster answers again: its alert resolves, the job alert is no longer inhibited
    cluster_health(place, reachable=True)
    settle()
    job.refresh_from_db()
    assert Alert.unscoped.get(id=down.id).status == "resolved"
    assert (job.inhibited, job.inhibited_by) == (False, [])
    assert "alerts.alert_suppression_changed" in alert_events(job.id)
    # a silence on the cluster mutes the job alert, ending it unmutes
    now = timezone.now()
    silence_id = actions.do_create_silence(
        **place.at,
        fields={
            "matchers": [
                {"name": "cluster", "op": "=", "value": place.cluster_id},
                {"name": "kind", "op": "=~", "value": "run_.*"},
            ],
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "reason": "planned maintenance",
        },
    )
    settle()
    job.refresh_from_db()
    assert (job.silenced, job.silenced_by) == (True, [silence_id])
    assert Silence.unscoped.get(id=silence_id).author == "system:tests"
    actions.do_end_silence(**place.at, silence_id=silence_id)
    settle()
    job.refresh_from_db()
    assert (job.silenced, Silence.unscoped.get(id=silence_id).status) == (False, "ended")
    with pytest.raises(AlertSilenceInvalid) as info:
        actions.do_create_silence(
            **place.at, fields={"matchers": [{"name": "a", "op": "=", "value": "b"}], "reason": "x"}
        )
    assert info.value.details["field"] == "ends_at"
    assert sorted(alert_events(job.id)).count("alerts.alert_suppression_changed") == 3
    assert Event.objects.filter(event_type="alerts.silence_created").count() == 1  # the refused one wrote nothing
    assert Event.objects.filter(event_type="alerts.silence_ended").count() == 1


def test_silences_expire_and_alerts_time_out_on_the_evaluators_clock(place):
    rule(place, name="run failed", kind="run_failed", resolve_after_seconds=600)
    observe(place, running(place), JobState.FAILED, error="x")
    now = timezone.now()
    silence_id = actions.do_create_silence(
        **place.at,
        fields={
            "matchers": [{"name": "alertname", "op": "=", "value": "run failed"}],
            "ends_at": (now + timedelta(minutes=5)).isoformat(),
            "reason": "known",
        },
    )
    settle()
    alert = Alert.unscoped.get(rule_name="run failed")
    assert alert.silenced
    evaluate.evaluate(now + timedelta(minutes=1))
    assert Silence.unscoped.get(id=silence_id).status == "active"
    counts = evaluate.evaluate(now + timedelta(minutes=6))
    assert counts["expired"] == 1 and Silence.unscoped.get(id=silence_id).status == "expired"
    assert Event.objects.filter(event_type="alerts.silence_expired").count() == 1
    alert.refresh_from_db()
    assert not alert.silenced  # the evaluator refreshed the muting in the same pass
    evaluate.evaluate(now + timedelta(minutes=11))
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_reason) == ("resolved", "timeout")


def test_stuck_runs_no_progress_and_thresholds_with_for(place):
    stuck_rule = rule(place, name="stuck", kind="run_stuck", params={"states": ["SUBMITTING"], "seconds": 300})
    progress_rule = rule(place, name="no records", kind="no_progress", params={"seconds": 600})
    slow_rule = rule(place, name="slow", kind="low_throughput", params={"below": 10}, for_seconds=120)
    failures = rule(
        place,
        name="failing runs",
        kind="threshold",
        params={"quantity": "runs_failed", "op": ">=", "value": 1, "window_seconds": 3600},
    )
    submitting = run(place)
    run_actions.do_record_run_submission_started(metadata=place.meta, run=submitting)
    streaming = running(place)
    with bound(place.tenant_id, place.workspace_id):
        RunTelemetry.objects.create(
            run_id=streaming.id,
            tenant_id=place.tenant_id,
            workspace_id=place.workspace_id,
            metrics={"sink_write_count": 100, "source_received_qps": "2.5"},
            metrics_at=timezone.now(),
        )
    now = timezone.now()
    evaluate.evaluate(now)
    assert not Alert.unscoped.filter(rule_id__in=[stuck_rule, progress_rule, slow_rule]).exists()
    assert Observation.unscoped.filter(rule_id=progress_rule).count() == 1  # the count, from now on
    evaluate.evaluate(now + timedelta(minutes=2))  # slow for its 120 s "for"
    assert Alert.unscoped.get(rule_id=slow_rule).labels["run"] == streaming.id
    evaluate.evaluate(now + timedelta(minutes=11))
    stuck = Alert.unscoped.get(rule_id=stuck_rule)
    assert (stuck.labels["run"], stuck.labels["state"]) == (submitting.id, "SUBMITTING")
    assert stuck.annotations["job_name"] == "fake-to-console" and "of job fake-to-console" in stuck.summary
    assert Alert.unscoped.get(rule_id=progress_rule).status == "firing"
    # records move again and throughput recovers: both resolve; the stuck run fails: its alert resolves too
    RunTelemetry.unscoped.filter(run_id=streaming.id).update(
        metrics={"sink_write_count": 250, "source_received_qps": "40"}
    )
    run_actions.do_record_run_submit_failed(
        metadata=place.meta, run=submitting, code="ZETA_REQUEST_REJECTED", message="no"
    )
    evaluate.evaluate(now + timedelta(minutes=12))
    assert set(
        Alert.unscoped.filter(rule_id__in=[stuck_rule, progress_rule, slow_rule]).values_list("status", flat=True)
    ) == {"resolved"}
    failing = Alert.unscoped.get(rule_id=failures)
    assert (failing.status, failing.annotations["value"]) == ("firing", "1")


def test_reminders_acknowledgement_and_deleting_a_rule(place):
    rule_id = rule(place, name="run failed", kind="run_failed", repeat_interval_seconds=600)
    observe(place, running(place), JobState.FAILED, error="x")
    settle()
    alert = Alert.unscoped.get(rule_id=rule_id)
    now = timezone.now()
    assert evaluate.evaluate(now + timedelta(minutes=5))["reminded"] == 0
    assert evaluate.evaluate(now + timedelta(minutes=11))["reminded"] == 1
    assert alert_events(alert.id) == ["alerts.alert_fired", "alerts.alert_reminded"]
    actions.do_acknowledge_alert(**place.at, fingerprint=alert.id, comment="looking")
    alert.refresh_from_db()
    assert (alert.acknowledged, alert.acknowledged_by, alert.acknowledge_comment) == (True, "system:tests", "looking")
    assert evaluate.evaluate(now + timedelta(hours=3))["reminded"] == 0
    assert "alerts.alert_acknowledged" in alert_events(alert.id)
    actions.do_update_rule(**place.at, rule_id=rule_id, fields={"severity": "info"})
    actions.do_update_rule(**place.at, rule_id=rule_id, fields={"enabled": False})
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_reason) == ("resolved", "rule_disabled")
    actions.do_update_rule(**place.at, rule_id=rule_id, fields={"enabled": True})
    actions.do_delete_rule(**place.at, rule_id=rule_id)
    assert AlertRule.unscoped.get(id=rule_id).deleted
    stream = list(
        Event.objects.filter(stream_id=f"alert-rule-{rule_id}").order_by("version").values_list("event_type", flat=True)
    )
    assert stream == [
        "alerts.rule_created",
        "alerts.rule_updated",
        "alerts.rule_disabled",
        "alerts.rule_enabled",
        "alerts.rule_deleted",
    ]


def test_beat_runs_the_evaluator_at_the_configured_interval(place, settings):
    from controlplane.alerts import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["alerts-evaluate"]
    assert (entry["task"], entry["schedule"]) == ("alerts.evaluate", settings.ALERT_EVAL_INTERVAL_SECONDS)
    assert tasks.evaluate.name == "alerts.evaluate"
    rule(place, name="stuck", kind="run_stuck", params={"states": ["PENDING"], "seconds": 1})
    pending = run(place)
    # as if it had been requested five seconds ago (the task reads the clock; the evaluator's tests pass one)
    Run.unscoped.filter(id=pending.id).update(updated_at=timezone.now() - timedelta(seconds=5))
    assert tasks.evaluate.run()["changed"] == 1  # the task body, with the clock of now
    assert Alert.unscoped.get(rule_name="stuck").labels["state"] == "PENDING"


def test_a_checkpoint_failure_in_a_running_runs_kept_log_fires_until_the_run_ends(place):
    rule_id = rule(place, name="checkpoints", kind="checkpoint_failing")
    streaming = running(place)
    log = (
        "2026-12-04 10:00:01,123 INFO  [CheckpointCoordinator] - timeout checkpoint: 1/2\n"
        "org.apache.seatunnel.engine.server.checkpoint.CheckpointException: Checkpoint expired before completing. "
        "Please increase checkpoint timeout in the seatunnel.yaml or jobConfig env.\n"
    )
    with bound(place.tenant_id, place.workspace_id):  # what the log fetch keeps (jobs.runner.fetch_log)
        RunTelemetry.objects.create(
            run_id=streaming.id,
            tenant_id=place.tenant_id,
            workspace_id=place.workspace_id,
            log_text=log,
            log_at=timezone.now(),
        )
    now = timezone.now()
    evaluate.evaluate(now)
    alert = Alert.unscoped.get(rule_id=rule_id)
    assert (alert.status, alert.annotations["log"]) == ("firing", "Checkpoint expired before completing")
    observe(place, streaming, JobState.CANCELED)
    evaluate.evaluate(now + timedelta(seconds=30))
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_reason) == ("resolved", "condition_cleared")


def test_checkpoint_rules_fetch_a_running_runs_log_from_the_engine_when_it_is_old(place, settings):
    from controlplane.jobs import runner

    rule_id = rule(place, name="checkpoints", kind="checkpoint_failing")
    streaming = run(place)
    runner.submit(streaming, streaming.attempts, metadata=place.meta)  # the job really runs on the emulator
    observe(place, streaming, JobState.RUNNING)
    settings.ALERT_LOG_REFRESH_SECONDS = 0
    evaluate.evaluate(timezone.now())
    assert not RunTelemetry.unscoped.filter(run_id=streaming.id).exists()  # 0: never fetched for alerts
    settings.ALERT_LOG_REFRESH_SECONDS = 300
    now = timezone.now()
    evaluate.evaluate(now)
    kept = RunTelemetry.unscoped.get(run_id=streaming.id)
    assert kept.log_at is not None and kept.log_text  # the engine's log of the job, as the run page keeps it
    assert not Alert.unscoped.filter(rule_id=rule_id).exists()  # no failed checkpoint in it
    evaluate.evaluate(now + timedelta(seconds=60))
    assert RunTelemetry.unscoped.get(run_id=streaming.id).log_at == kept.log_at  # fresh enough: not fetched again
