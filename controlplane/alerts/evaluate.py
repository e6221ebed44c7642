"""Rule evaluation: event rules when their events arrive (``on_events``, called by the subscriber) and time rules
on each beat tick (``evaluate``, the task ``alerts.evaluate``). Both write only through ``actions``; the time rules
keep their observations (since when a condition holds, a run's last record count) in ``Observation``.

Every function takes ``now`` where time matters, so tests pass one instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from controlplane.alerts import actions, quantities, selectors
from controlplane.alerts.domain.alert import Firing
from controlplane.alerts.domain.matching import all_match, fingerprint, group_key, matchers_from_dicts
from controlplane.alerts.domain.rules import CHECKPOINT_FAILURE_TEXTS, COUNT_METRICS, RATE_METRICS, TIME_KINDS, compare
from controlplane.alerts.models import AlertRule, Observation
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.records import RecordedEvent
from controlplane.jobs import runner
from controlplane.jobs.models import Run, RunTelemetry
from controlplane.tenancy.context import bound

log = logging.getLogger("controlplane.alerts")

REASON = "alerts.evaluate"


@dataclass(frozen=True)
class Candidate:
    """One thing a rule's condition holds for: the labels that identify it, and what to tell about it."""

    identity: dict[str, str]
    summary: str
    annotations: dict[str, str] = field(default_factory=dict)


def _firing(rule: AlertRule, candidate: Candidate) -> Firing:
    labels = {
        **rule.labels,
        **candidate.identity,
        "alertname": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "source": "controlplane",
    }
    return Firing(
        fingerprint=fingerprint(rule.id, candidate.identity),
        source="controlplane",
        rule_id=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        labels=labels,
        annotations=candidate.annotations,
        summary=candidate.summary,
        channel_ids=list(rule.channel_ids),
        group_key=group_key(rule.group_by, labels),
        repeat_interval_seconds=rule.repeat_interval_seconds,
    )


def _applies(rule: AlertRule, firing: Firing) -> bool:
    return all_match(matchers_from_dicts(rule.matchers), firing.labels)


# -- event rules ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    """What an event means for the event rules of one kind: fire for ``candidate``, or resolve its identity."""

    kind: str
    candidate: Candidate
    fires: bool


def _meaning(event: RecordedEvent) -> Seen | None:
    data, meta, kind = event.data, event.metadata, event.event_type
    tenant_id, workspace_id = meta.tenant_id or "", meta.workspace_id or ""
    if kind == "jobs.run_state_changed" and data.state in ("FAILED", "SUCCEEDED", "RUNNING"):
        run = selectors.run_in(tenant_id, workspace_id, data.run_id)
        if run is None:
            return None
        identity = {"cluster": run.cluster_id, "job": run.job_id}
        failed = data.state == "FAILED"
        name = selectors.job_names(tenant_id, workspace_id, {run.job_id}).get(run.job_id, run.job_id)
        summary = f"run {run.id} of job {name} failed: {data.error_code or 'no error code'}"
        notes = {
            "run": run.id,
            "job_name": name,
            "error_code": data.error_code or "",
            "error": (data.error or "")[:1000],
        }
        return Seen("run_failed", Candidate(identity, summary, notes if failed else {}), fires=failed)
    if kind in ("agents.agent_lost", "agents.agent_online", "agents.agent_revoked"):
        agent = selectors.agent_in(tenant_id, workspace_id, data.agent_id)
        if agent is None:
            return None
        identity = {"agent": agent.id, "cluster": agent.cluster_id}
        lost = kind == "agents.agent_lost"
        notes = {"hostname": agent.hostname, "last_heartbeat_at": data.last_heartbeat_at} if lost else {}
        return Seen("agent_lost", Candidate(identity, f"agent {agent.hostname} ({agent.id}) is lost", notes), lost)
    if kind in ("clusters.node_lost", "clusters.node_returned", "clusters.node_removed"):
        identity = {"cluster": data.cluster_id, "node": data.address}
        lost = kind == "clusters.node_lost"
        return Seen("node_lost", Candidate(identity, f"node {data.address} of cluster {data.cluster_id} is lost"), lost)
    if kind in ("clusters.cluster_unreachable", "clusters.cluster_reachable", "clusters.cluster_removed"):
        down = kind == "clusters.cluster_unreachable"
        notes = {"error_code": data.error_code, "error": data.error_message[:1000]} if down else {}
        summary = f"cluster {data.cluster_id} is unreachable"
        return Seen("cluster_unreachable", Candidate({"cluster": data.cluster_id}, summary, notes), down)
    if kind in ("operations.operation_failed", "operations.operation_succeeded"):
        operation = selectors.operation_in(tenant_id, workspace_id, data.operation_id)
        if operation is None:
            return None
        identity = {"cluster": operation.cluster_id, "operation_type": operation.type}
        failed = kind == "operations.operation_failed"
        notes = (
            {
                "operation": operation.id,
                "error_code": data.error_code,
                "error": data.error[:1000],
                "step": data.step or "",
            }
            if failed
            else {}
        )
        summary = (
            f"operation {operation.type} on cluster {operation.cluster_id} failed: {getattr(data, 'error_code', '')}"
        )
        return Seen("operation_failed", Candidate(identity, summary, notes), failed)
    return None


# event type -> the kind of event rule it concerns
KIND_OF = {
    "jobs.run_state_changed": "run_failed",
    "agents.agent_lost": "agent_lost",
    "agents.agent_online": "agent_lost",
    "agents.agent_revoked": "agent_lost",
    "clusters.node_lost": "node_lost",
    "clusters.node_returned": "node_lost",
    "clusters.node_removed": "node_lost",
    "clusters.cluster_unreachable": "cluster_unreachable",
    "clusters.cluster_reachable": "cluster_unreachable",
    "clusters.cluster_removed": "cluster_unreachable",
    "operations.operation_failed": "operation_failed",
    "operations.operation_succeeded": "operation_failed",
}


def on_events(events: Iterable[RecordedEvent], *, reason: str) -> int:
    """Fire or resolve the alerts of the event rules these events concern; returns how many alerts changed."""
    changed = 0
    rules: dict[tuple[str, str, str], list[AlertRule]] = {}  # one query per workspace and kind in a batch
    for event in events:
        kind = KIND_OF.get(event.event_type)
        tenant_id, workspace_id = event.metadata.tenant_id, event.metadata.workspace_id
        if kind is None or not tenant_id or not workspace_id:
            continue
        key = (tenant_id, workspace_id, kind)
        if key not in rules:
            rules[key] = selectors.enabled_rules(tenant_id, workspace_id, (kind,))
        if not rules[key]:
            continue  # no rule of that kind here: nothing to look up (a new subscription reads the whole log)
        seen = _meaning(event)
        if seen is None:
            continue
        metadata = Metadata.for_system(tenant_id, reason=reason, workspace_id=workspace_id).caused_by(event.position)
        for rule in rules[key]:
            if rule.created_at > event.recorded_at:
                continue  # a rule is about what happens after it exists
            firing = _firing(rule, seen.candidate)
            place = {"metadata": metadata, "tenant_id": tenant_id, "workspace_id": workspace_id}
            if seen.fires:
                if _applies(rule, firing):
                    changed += actions.do_fire_alert(**place, firing=firing, starts_at=event.recorded_at)
            else:
                changed += actions.do_resolve_alert(
                    **place, fingerprint=firing.fingerprint, ends_at=event.recorded_at, reason="condition_cleared"
                )
    return changed


# -- time rules -------------------------------------------------------------------------------------------------
def _candidates(rule: AlertRule, tenant_id: str, workspace_id: str, now: datetime) -> list[Candidate]:
    found = _conditions(rule, tenant_id, workspace_id, now)
    names = selectors.job_names(tenant_id, workspace_id, {c.identity["job"] for c in found if "job" in c.identity})
    return [_with_job_name(c, names) for c in found]


def _with_job_name(candidate: Candidate, names: dict[str, str]) -> Candidate:
    """People read job names, not ids: the summary names the job and ``job_name`` is an annotation (not a label:
    renaming a job must not change the alert's fingerprint)."""
    job_id = candidate.identity.get("job")
    if job_id is None or job_id not in names:
        return candidate
    return Candidate(
        candidate.identity,
        candidate.summary.replace(f"of job {job_id}", f"of job {names[job_id]}"),
        {**candidate.annotations, "job_name": names[job_id]},
    )


def _conditions(rule: AlertRule, tenant_id: str, workspace_id: str, now: datetime) -> list[Candidate]:
    params = rule.params
    if rule.kind == "run_stuck":
        limit = timedelta(seconds=params["seconds"])
        return [
            Candidate(
                {"cluster": run.cluster_id, "job": run.job_id, "run": run.id, "state": run.state},
                f"run {run.id} of job {run.job_id} has been {run.state} since {run.updated_at.isoformat()}",
            )
            for run in selectors.runs_in_states(tenant_id, workspace_id, params["states"])
            if now - run.updated_at >= limit
        ]
    if rule.kind == "threshold":
        found = []
        for identity, value in quantities.CATALOG[params["quantity"]](tenant_id, workspace_id, now, params):
            if compare(value, params["op"], params["value"]):
                summary = f"{params['quantity']} is {value:g} ({params['op']} {params['value']:g})"
                found.append(Candidate({**identity, "quantity": params["quantity"]}, summary, {"value": f"{value:g}"}))
        return found
    return _run_candidates(rule, tenant_id, workspace_id, now)


def _run_candidates(rule: AlertRule, tenant_id: str, workspace_id: str, now: datetime) -> list[Candidate]:
    """The data-progress rules over the engine's job metrics of RUNNING runs (``RunTelemetry``, the sync loop's)."""
    params, found = rule.params, []
    counts = {k: o for k, o in selectors.observations(tenant_id, workspace_id, rule.id).items() if k.startswith("c:")}
    seen_counts: set[str] = set()
    for run, telemetry in selectors.running_runs_with_telemetry(tenant_id, workspace_id):
        if rule.kind == "checkpoint_failing":
            telemetry = _fresh_log(run, telemetry, now)
        if telemetry is None:
            continue  # nothing measured yet: no data is not "no progress"
        identity = {"cluster": run.cluster_id, "job": run.job_id, "run": run.id}
        metrics = telemetry.metrics or {}
        if rule.kind == "no_progress":
            key = f"c:{rule.id}:{run.id}"
            seen_counts.add(key)
            value = float(metrics.get(COUNT_METRICS[params["metric"]]) or 0)
            mark = counts.get(key)
            if mark is None or mark.value != value:
                _observe(tenant_id, workspace_id, rule.id, key, value, now)
                continue
            if now - mark.since >= timedelta(seconds=params["seconds"]):
                summary = f"run {run.id} of job {run.job_id}: {params['metric']} has stayed at {value:g}"
                found.append(Candidate(identity, summary, {"since": mark.since.isoformat()}))
        elif rule.kind == "low_throughput":
            rate = float(metrics.get(RATE_METRICS[params["metric"]]) or 0)
            if rate < params["below"]:
                summary = f"run {run.id} of job {run.job_id}: {params['metric']} is {rate:g}, below {params['below']:g}"
                found.append(Candidate(identity, summary, {"value": f"{rate:g}"}))
        elif rule.kind == "checkpoint_failing":
            text = next((t for t in CHECKPOINT_FAILURE_TEXTS if t in (telemetry.log_text or "")), None)
            if text is not None:
                found.append(Candidate(identity, f"run {run.id} of job {run.job_id}: checkpoints fail", {"log": text}))
    _forget(tenant_id, workspace_id, [k for k in counts if k not in seen_counts])
    return found


def _fresh_log(run: Run, telemetry: RunTelemetry | None, now: datetime) -> RunTelemetry | None:
    """The run's kept engine log, fetched again when older than CONTROLPLANE_ALERT_LOG_REFRESH_SECONDS. An engine
    that does not answer leaves what was kept (the next tick tries again)."""
    refresh = settings.ALERT_LOG_REFRESH_SECONDS
    if not refresh or (
        telemetry is not None and telemetry.log_at and now - telemetry.log_at < timedelta(seconds=refresh)
    ):
        return telemetry
    try:
        runner.fetch_log(run)
    except DomainError as error:
        log.warning("alerts: the log of run %s could not be fetched: %s", run.id, error.code)
        return telemetry
    return selectors.telemetry_of(run)


def _observe(tenant_id: str, workspace_id: str, rule_id: str, key: str, value: float | None, now: datetime) -> None:
    with bound(tenant_id, workspace_id):
        Observation.objects.update_or_create(
            id=key,
            defaults={
                "tenant_id": tenant_id,
                "workspace_id": workspace_id,
                "rule_id": rule_id,
                "value": value,
                "since": now,
            },
        )


def _forget(tenant_id: str, workspace_id: str, keys: list[str]) -> None:
    if keys:
        with bound(tenant_id, workspace_id):
            Observation.objects.filter(id__in=keys).delete()


def _evaluate_rule(rule: AlertRule, metadata: Metadata, now: datetime) -> int:
    tenant_id, workspace_id = rule.tenant_id, rule.workspace_id
    place = {"metadata": metadata, "tenant_id": tenant_id, "workspace_id": workspace_id}
    holding = {}
    for candidate in _candidates(rule, tenant_id, workspace_id, now):
        firing = _firing(rule, candidate)
        if _applies(rule, firing):
            holding[firing.fingerprint] = firing
    pending = {
        o.id: o for o in selectors.observations(tenant_id, workspace_id, rule.id).values() if o.id.startswith("p:")
    }
    changed = 0
    for fp, firing in holding.items():
        key = f"p:{rule.id}:{fp}"
        since = pending[key].since if key in pending else now
        if key not in pending and rule.for_seconds:
            _observe(tenant_id, workspace_id, rule.id, key, None, now)
        if now - since >= timedelta(seconds=rule.for_seconds):
            changed += actions.do_fire_alert(**place, firing=firing, starts_at=now)
    _forget(tenant_id, workspace_id, [k for k in pending if k.split(":", 2)[2] not in holding])
    for fp in selectors.firing_of_rule(tenant_id, workspace_id, rule.id):
        if fp not in holding:
            changed += actions.do_resolve_alert(**place, fingerprint=fp, ends_at=now, reason="condition_cleared")
    return changed


def evaluate(now: datetime) -> dict[str, int]:
    """One pass: expire silences, evaluate the time rules, resolve timed-out alerts, refresh muting, remind."""
    counts = {"expired": 0, "changed": 0, "timed_out": 0, "muting": 0, "reminded": 0}
    for tenant_id, workspace_id, silence_id in selectors.expired_silences_for_system(now):
        metadata = Metadata.for_system(tenant_id, reason=REASON, workspace_id=workspace_id)
        place = {"metadata": metadata, "tenant_id": tenant_id, "workspace_id": workspace_id}
        counts["expired"] += actions.do_expire_silence(**place, silence_id=silence_id, now=now)
    for alert in selectors.timed_out_alerts_for_system(now):
        metadata = Metadata.for_system(alert.tenant_id, reason=REASON, workspace_id=alert.workspace_id)
        counts["timed_out"] += actions.do_resolve_alert(
            metadata=metadata,
            tenant_id=alert.tenant_id,
            workspace_id=alert.workspace_id,
            fingerprint=alert.id,
            ends_at=now,
            reason="timeout",
        )
    for tenant_id, workspace_id in selectors.workspaces_with_rules_for_system():
        try:
            _evaluate_workspace(tenant_id, workspace_id, now, counts)
        except Exception:  # one workspace's trouble (a database error in its writes) must not stop the others
            log.exception("alerts: workspace %s of tenant %s could not be evaluated", workspace_id, tenant_id)
    return counts


def _evaluate_workspace(tenant_id: str, workspace_id: str, now: datetime, counts: dict[str, int]) -> None:
    metadata = Metadata.for_system(tenant_id, reason=REASON, workspace_id=workspace_id)
    place = {"metadata": metadata, "tenant_id": tenant_id, "workspace_id": workspace_id}
    for rule in selectors.enabled_rules(tenant_id, workspace_id, TIME_KINDS):
        try:
            counts["changed"] += _evaluate_rule(rule, metadata, now)
        except Exception:  # one broken rule must not stop the others
            log.exception("alerts: rule %s (%s) could not be evaluated", rule.id, rule.name)
    counts["muting"] += actions.do_refresh_muting(**place, now=now)
    for alert in selectors.firing_alerts_for_system(tenant_id, workspace_id):
        due = alert.updated_at + timedelta(seconds=alert.repeat_interval_seconds) <= now
        if due and not (alert.acknowledged or alert.silenced or alert.inhibited):
            counts["reminded"] += actions.do_remind_alert(**place, fingerprint=alert.id, now=now)
