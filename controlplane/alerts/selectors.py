"""Readers of alerts. A reader given a tenant and workspace reads through the tenant-scoped managers with them
bound; only ``*_for_system`` / ``*_for_platform`` readers cross tenants (ADR 0018)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, QuerySet

from controlplane.agents.models import Agent, AgentLiveness
from controlplane.alerts.domain.matching import ActiveSilence, FiringAlert, matchers_from_dicts
from controlplane.alerts.models import Alert, AlertRule, Observation, Silence
from controlplane.eventlog.records import RecordedEvent
from controlplane.eventlog.store import read_stream
from controlplane.jobs.models import Job, Run, RunTelemetry
from controlplane.operations.models import Operation
from controlplane.tenancy.context import bound


# -- the bound tenant (views: the console's pages) ------------------------------------------------------------
def alert_list() -> QuerySet[Alert]:
    """The alerts of the bound tenant (and workspace), newest first; the API's ``AlertFilter`` narrows them."""
    return Alert.objects.all()


def alert_history(alert: Alert) -> list[RecordedEvent]:
    """Every event of the alert's stream (``actions.alert_stream``), oldest first: its episodes, acknowledgements,
    muting changes and reminders."""
    return read_stream(f"alert-{alert.id}")


def rule_list() -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(deleted=False)


def silence_list() -> QuerySet[Silence]:
    return Silence.objects.all()


def active_silences(tenant_id: str, workspace_id: str) -> list[ActiveSilence]:
    with bound(tenant_id, workspace_id):
        rows = list(Silence.objects.filter(status="active"))
    return [ActiveSilence(s.id, matchers_from_dicts(s.matchers), s.starts_at, s.ends_at) for s in rows]


def firing_alerts(tenant_id: str, workspace_id: str) -> list[FiringAlert]:
    with bound(tenant_id, workspace_id):
        rows = list(Alert.objects.filter(status="firing").values_list("id", "labels"))
    return [FiringAlert(fingerprint, labels) for fingerprint, labels in rows]


def muting_shown(tenant_id: str, workspace_id: str) -> dict[str, tuple[list, list]]:
    """Each firing alert's ``(silenced_by, inhibited_by)`` as the read model has them."""
    with bound(tenant_id, workspace_id):
        rows = Alert.objects.filter(status="firing").values_list("id", "silenced_by", "inhibited_by")
        return {fp: (silenced, inhibited) for fp, silenced, inhibited in rows}


def firing_of_rule(tenant_id: str, workspace_id: str, rule_id: str) -> dict[str, Alert]:
    with bound(tenant_id, workspace_id):
        return {a.id: a for a in Alert.objects.filter(rule_id=rule_id, status="firing")}


def enabled_rules(tenant_id: str, workspace_id: str, kinds: tuple[str, ...]) -> list[AlertRule]:
    with bound(tenant_id, workspace_id):
        return list(AlertRule.objects.filter(kind__in=kinds, enabled=True, deleted=False))


def observations(tenant_id: str, workspace_id: str, rule_id: str) -> dict[str, Observation]:
    with bound(tenant_id, workspace_id):
        return {o.id: o for o in Observation.objects.filter(rule_id=rule_id)}


def run_in(tenant_id: str, workspace_id: str, run_id: str) -> Run | None:
    with bound(tenant_id, workspace_id):
        return Run.objects.filter(id=run_id).first()


def agent_in(tenant_id: str, workspace_id: str, agent_id: str) -> Agent | None:
    with bound(tenant_id, workspace_id):
        return Agent.objects.filter(id=agent_id).first()


def operation_in(tenant_id: str, workspace_id: str, operation_id: str) -> Operation | None:
    with bound(tenant_id, workspace_id):
        return Operation.objects.filter(id=operation_id).first()


def job_names(tenant_id: str, workspace_id: str, job_ids: set[str]) -> dict[str, str]:
    with bound(tenant_id, workspace_id):
        return dict(Job.objects.filter(id__in=job_ids).values_list("id", "name"))


def runs_in_states(tenant_id: str, workspace_id: str, states: list[str]) -> list[Run]:
    with bound(tenant_id, workspace_id):
        return list(Run.objects.filter(state__in=states))


def running_runs_with_telemetry(tenant_id: str, workspace_id: str) -> list[tuple[Run, RunTelemetry | None]]:
    with bound(tenant_id, workspace_id):
        runs = list(Run.objects.filter(state="RUNNING"))
        telemetry = {t.run_id: t for t in RunTelemetry.objects.filter(run_id__in=[r.id for r in runs])}
    return [(run, telemetry.get(run.id)) for run in runs]


def telemetry_of(run: Run) -> RunTelemetry | None:
    with bound(run.tenant_id, run.workspace_id):
        return RunTelemetry.objects.filter(run_id=run.id).first()


def heartbeat_ages(tenant_id: str, workspace_id: str, now: datetime) -> list[tuple[Agent, float]]:
    """Seconds since each live (not revoked) agent's last heartbeat; its registration when it never sent one."""
    with bound(tenant_id, workspace_id):
        agents = list(Agent.objects.exclude(status="revoked"))
        last = {
            row.agent_id: row.last_heartbeat_at
            for row in AgentLiveness.objects.filter(agent_id__in=[a.id for a in agents])
        }
    return [(a, (now - last.get(a.id, a.registered_at)).total_seconds()) for a in agents]


def failed_since(tenant_id: str, workspace_id: str, what: str, since: datetime) -> int:
    model = Operation if what == "operations" else Run
    with bound(tenant_id, workspace_id):
        return model.objects.filter(state="FAILED", finished_at__gte=since).count()


def silence_get(tenant_id: str, workspace_id: str, silence_id: str) -> Silence | None:
    with bound(tenant_id, workspace_id):
        return Silence.objects.filter(id=silence_id).first()


def rule_name_taken(tenant_id: str, workspace_id: str, name: str, but: str = "") -> bool:
    with bound(tenant_id, workspace_id):
        return AlertRule.objects.filter(name=name, deleted=False).exclude(id=but).exists()


# -- crossing tenants --------------------------------------------------------------------------------------
def workspaces_with_rules_for_system() -> list[tuple[str, str]]:
    """(tenant, workspace) of every workspace with an enabled rule, a firing alert or an active silence: where the
    evaluator looks."""
    places: set[tuple[str, str]] = set()
    places.update(AlertRule.unscoped.filter(enabled=True, deleted=False).values_list("tenant_id", "workspace_id"))
    places.update(Alert.unscoped.filter(status="firing").values_list("tenant_id", "workspace_id"))
    places.update(Silence.unscoped.filter(status="active").values_list("tenant_id", "workspace_id"))
    return sorted(places)


def expired_silences_for_system(now: datetime) -> list[tuple[str, str, str]]:
    return list(
        Silence.unscoped.filter(status="active", ends_at__lte=now).values_list("tenant_id", "workspace_id", "id")
    )


def firing_alerts_for_system(tenant_id: str, workspace_id: str) -> list[Alert]:
    return list(Alert.unscoped.filter(tenant_id=tenant_id, workspace_id=workspace_id, status="firing"))


def timed_out_alerts_for_system(now: datetime) -> list[Alert]:
    """Firing alerts of rules with a resolve timeout that has passed."""
    rules = dict(
        AlertRule.unscoped.filter(resolve_after_seconds__gt=0, deleted=False).values_list("id", "resolve_after_seconds")
    )
    firing = Alert.unscoped.filter(status="firing", rule_id__in=list(rules))
    return [a for a in firing if a.starts_at + timedelta(seconds=rules[a.rule_id]) <= now]


def firing_counts_for_platform() -> dict[str, int]:
    """Firing alerts by severity, for /metrics."""
    rows = Alert.unscoped.filter(status="firing").values_list("severity").annotate(n=Count("id")).order_by()
    return dict(rows)


def rules_for_platform() -> QuerySet[AlertRule]:
    return AlertRule.unscoped.all()


def alerts_for_platform() -> QuerySet[Alert]:
    return Alert.unscoped.all()


def silences_for_platform() -> QuerySet[Silence]:
    return Silence.unscoped.all()
