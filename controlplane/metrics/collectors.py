"""Gauges computed at scrape from the read models, the event log's checkpoints and the broker (docs/METRICS.md).

They are counts of rows, not counts of things that happened in a process, so they are asked of the database by
the process that answers the scrape and never kept in prometheus-client's multiprocess files (ADR 0028). Each
query is one GROUP BY over an indexed or small table. A part that fails (a broker that does not answer) is left
out of that scrape and ``controlplane_metrics_collector_up{collector}`` says 0; the rest is still exported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from controlplane import filesystem_broker
from controlplane.agents.selectors import agents_for_platform, liveness_for_platform
from controlplane.alerts.domain.rules import SEVERITIES
from controlplane.alerts.selectors import firing_counts_for_platform
from controlplane.clusters.selectors import clusters_for_platform, health_for_platform
from controlplane.eventlog.models import Checkpoint, Event
from controlplane.jobs.domain.runs import RunState
from controlplane.jobs.selectors import job_list_for_platform, run_list_for_platform, telemetry_list_for_platform
from controlplane.operations.domain.states import StepState
from controlplane.operations.selectors import operation_steps_for_platform, operations_for_platform
from controlplane.tenancy.models import Tenant, Workspace

log = logging.getLogger(__name__)

STEP_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
FINISHED_STEP_STATES = (
    StepState.SUCCEEDED,
    StepState.FAILED,
    StepState.COMPENSATED,
    StepState.COMPENSATION_FAILED,
)
BROKER_TIMEOUT_SECONDS = 1.0


def _runs() -> Iterator[Metric]:
    """Runs grouped by job and state in the database (no per-row subquery), then by the jobs' modes here."""
    family = GaugeMetricFamily(
        "controlplane_runs", "Runs by their job's mode (BATCH, STREAMING) and run state", labels=["mode", "state"]
    )
    groups = list(run_list_for_platform().values_list("job_id", "state").annotate(n=Count("id")).order_by())
    modes = dict(job_list_for_platform().filter(id__in={job_id for job_id, _, _ in groups}).values_list("id", "mode"))
    counts: dict[tuple[str, str], int] = {}
    for job_id, state, n in groups:
        key = (modes.get(job_id) or "unknown", state)
        counts[key] = counts.get(key, 0) + n
    for (mode, state), n in sorted(counts.items()):
        family.add_metric([mode, state], n)
    yield family


def _progress() -> Iterator[Metric]:
    """Records read and written by each job's running runs, as the sync loop last read them from the engine.

    Labelled by the job's tenant, workspace and name (bounded by the jobs defined; never a run id): the series of a
    job exists while it has a running run, and starts again from the engine's count when a new run starts (a
    counter reset, which rate() and increase() handle)."""
    running = list(
        run_list_for_platform().filter(state=RunState.RUNNING).values_list("id", "job_id", "tenant_id", "workspace_id")
    )
    if not running:
        return
    jobs = {
        job_id: (name, mode)
        for job_id, name, mode in job_list_for_platform()
        .filter(id__in={r[1] for r in running})
        .values_list("id", "name", "mode")
    }
    telemetry = dict(
        telemetry_list_for_platform().filter(run_id__in=[r[0] for r in running]).values_list("run_id", "metrics")
    )
    tenants = dict(Tenant.objects.values_list("id", "slug"))
    workspaces = dict(Workspace.objects.values_list("id", "slug"))
    read: dict[tuple[str, ...], float] = {}
    written: dict[tuple[str, ...], float] = {}
    for run_id, job_id, tenant_id, workspace_id in running:
        metrics = telemetry.get(run_id)
        if not isinstance(metrics, dict) or job_id not in jobs:
            continue
        name, mode = jobs[job_id]
        key = (tenants.get(tenant_id, ""), workspaces.get(workspace_id, ""), name, mode)
        read[key] = read.get(key, 0.0) + float(metrics.get("source_received_count") or 0)
        written[key] = written.get(key, 0.0) + float(metrics.get("sink_write_count") or 0)
    labels = ["tenant", "workspace", "job_name", "mode"]
    source = CounterMetricFamily(
        "controlplane_run_source_records",
        "Records the sources of a job's running runs have read (the engine's SourceReceivedCount)",
        labels=labels,
    )
    sink = CounterMetricFamily(
        "controlplane_run_sink_records",
        "Records the sinks of a job's running runs have written (the engine's SinkWriteCount)",
        labels=labels,
    )
    for key, value in sorted(read.items()):
        source.add_metric(list(key), value)
        sink.add_metric(list(key), written[key])
    yield source
    yield sink


def _operations() -> Iterator[Metric]:
    family = GaugeMetricFamily("controlplane_operations", "Operations by type and state", labels=["type", "state"])
    for row in operations_for_platform().values("type", "state").annotate(n=Count("id")).order_by():
        family.add_metric([row["type"], row["state"]], row["n"])
    yield family


def _steps() -> Iterator[Metric]:
    """Finished operation steps as a histogram of their durations (cumulative over the steps kept)."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{index}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(STEP_BUCKETS)
    }
    rows = (
        operation_steps_for_platform()
        .filter(started_at__isnull=False, finished_at__isnull=False, state__in=FINISHED_STEP_STATES)
        .annotate(duration=duration)
        .values("kind", "state")
        .annotate(n=Count("id"), total=Sum("duration"), **buckets)
        .order_by()
    )
    family = HistogramMetricFamily(
        "controlplane_operation_step_duration_seconds",
        "Durations of finished operation steps, by step kind and final state",
        labels=["kind", "state"],
    )
    for row in rows:
        cumulative = [(_bound(bound), float(row[f"le_{index}"])) for index, bound in enumerate(STEP_BUCKETS)]
        total = row["total"]
        seconds = total.total_seconds() if isinstance(total, timedelta) else float(total or 0) / 1e6
        family.add_metric([row["kind"], row["state"]], [*cumulative, ("+Inf", float(row["n"]))], seconds)
    yield family


def _bound(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"


def _agents(now: datetime) -> Iterator[Metric]:
    counts = GaugeMetricFamily("controlplane_agents", "Registered node agents by status", labels=["status"])
    for row in agents_for_platform().values("status").annotate(n=Count("id")).order_by():
        counts.add_metric([row["status"]], row["n"])
    yield counts
    status = Subquery(agents_for_platform().filter(id=OuterRef("agent_id")).values("status")[:1])
    oldest = GaugeMetricFamily(
        "controlplane_agent_heartbeat_age_seconds_max",
        "Seconds since the last heartbeat of the longest-silent agent, by agent status (revoked agents left out)",
        labels=["status"],
    )
    rows = (
        liveness_for_platform()
        .annotate(status=status)
        .exclude(status="revoked")
        .values("status")
        .annotate(last=Min("last_heartbeat_at"))
        .order_by()
    )
    for row in rows:
        if row["status"] and row["last"] is not None:
            oldest.add_metric([row["status"]], max(0.0, (now - row["last"]).total_seconds()))
    yield oldest


def _alerts() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "controlplane_alerts_firing",
        "Alerts firing now, by severity (silenced and inhibited ones included: docs/ALERTS.md)",
        labels=["severity"],
    )
    counts = firing_counts_for_platform()
    for severity in SEVERITIES:  # every severity, zeros too: an alert rule can say "== 0"
        family.add_metric([severity], counts.get(severity, 0))
    yield family


def _clusters() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "controlplane_clusters",
        "Registered clusters (removed ones left out) by the last health poll: reachable, unreachable, unknown",
        labels=["health"],
    )
    live = list(clusters_for_platform().filter(removed=False).values_list("id", flat=True))
    reachable = dict(health_for_platform().filter(cluster_id__in=live).values_list("cluster_id", "reachable"))
    counts = {"reachable": 0, "unreachable": 0, "unknown": 0}
    for cluster_id in live:
        seen = reachable.get(cluster_id)
        counts["unknown" if seen is None else "reachable" if seen else "unreachable"] += 1
    for health, n in counts.items():
        family.add_metric([health], n)
    yield family


def _eventlog(now: datetime) -> Iterator[Metric]:
    head = Event.objects.aggregate(head=Max("position"))["head"] or 0
    yield GaugeMetricFamily(
        "controlplane_eventlog_head_position", "Position of the latest event in the global order", value=head
    )
    events = GaugeMetricFamily(
        "controlplane_eventlog_subscriber_lag_events",
        "Events of the global order an asynchronous subscriber has not handled yet",
        labels=["subscriber"],
    )
    seconds = GaugeMetricFamily(
        "controlplane_eventlog_subscriber_lag_seconds",
        "Age of the oldest event a subscriber has not handled yet (0 when it is caught up)",
        labels=["subscriber"],
    )
    for name, position in Checkpoint.objects.values_list("name", "position"):
        events.add_metric([name], max(0, head - position))
        oldest = Event.objects.filter(position__gt=position).order_by("position").values("recorded_at").first()
        age = (now - oldest["recorded_at"]).total_seconds() if oldest is not None else 0.0
        seconds.add_metric([name], max(0.0, age))
    yield events
    yield seconds


def _queue_names() -> list[str]:
    from controlplane.celery import app

    return [str(app.conf.task_default_queue or "celery")]


def _broker() -> Iterator[Metric]:
    from controlplane.celery import app

    depth = GaugeMetricFamily(
        "controlplane_broker_queue_depth", "Messages waiting in a Celery queue of the broker", labels=["queue"]
    )
    fast = {"socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    options = fast if settings.REDIS_URL else {}
    with app.connection_for_read(connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options) as conn:
        conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        channel = conn.default_channel
        for queue in _queue_names():
            try:
                declared = channel.queue_declare(queue=queue, passive=True)
                count = declared.message_count
            except Exception:  # a queue nobody declared yet holds nothing
                count = 0
            depth.add_metric([queue], count)
    yield depth
    if not settings.REDIS_URL:
        dead = len(filesystem_broker.dead_letters(settings.CELERY_BROKER_TRANSPORT_OPTIONS))
        yield GaugeMetricFamily(
            "controlplane_broker_dead_letters",
            "Message files of the embedded broker the worker could not decode (docs/OPERATIONS.md)",
            value=dead,
        )


class StateCollector(Collector):
    """The gauges of docs/METRICS.md's "computed at scrape" table."""

    def parts(self, now: datetime) -> dict[str, Callable[[], Iterable[Metric]]]:
        return {
            "runs": _runs,
            "progress": _progress,
            "operations": _operations,
            "steps": _steps,
            "agents": lambda: _agents(now),
            "clusters": _clusters,
            "alerts": _alerts,
            "eventlog": lambda: _eventlog(now),
            "broker": _broker,
        }

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        up = GaugeMetricFamily(
            "controlplane_metrics_collector_up",
            "1 when this part of the scrape-time metrics was read, 0 when it failed (its metrics are absent)",
            labels=["collector"],
        )
        for name, part in self.parts(now).items():
            try:
                families = list(part())
            except Exception:
                log.exception("metrics: the %s collector failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up
