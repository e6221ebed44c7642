"""Shared set-up of the alerts tests: a workspace with a cluster (registered against the Zeta emulator) and a job,
runs moved by the writers the worker and the sync loop call, and the subscriptions drained."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from controlplane.alerts import actions, subscribers
from controlplane.clusters import actions as clusters
from controlplane.clusters.health import ClusterHealth
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, Run
from controlplane.notifications import actions as notifications
from controlplane.seatunnel.states import JobState
from controlplane.tenancy import actions as tenancy
from tests.api.world import FAKE_TO_CONSOLE, emulator_url
from tests.eventlog.fingerprint import drain


@dataclass
class Place:
    tenant_id: str
    workspace_id: str
    meta: Metadata
    cluster_id: str
    job_id: str

    @property
    def at(self) -> dict:
        return {"metadata": self.meta, "tenant_id": self.tenant_id, "workspace_id": self.workspace_id}

    def cluster(self) -> Cluster:
        return Cluster.unscoped.get(id=self.cluster_id)

    def job(self) -> Job:
        return Job.unscoped.get(id=self.job_id)


def make_place(slug: str = "acme") -> Place:
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name=slug.title(), slug=slug)
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    meta = Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)
    cluster_id = clusters.do_register_cluster(
        metadata=meta,
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[emulator_url()],
    )
    job_id = jobs.do_create_job(
        metadata=meta,
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        name="fake-to-console",
        cluster_id=cluster_id,
        config=FAKE_TO_CONSOLE,
    )
    return Place(tenant_id, workspace_id, meta, cluster_id, job_id)


def channel(place: Place, url: str = "http://127.0.0.1:9/hook", name: str = "ops webhook") -> str:
    """A generic webhook notification channel of the place's workspace (delivered by tests that serve ``url``)."""
    return notifications.do_create_channel(
        **place.at, name=name, kind="webhook", webhook_url=url, signing_secret="alerts-tests-signing-secret"
    )


def rule(place: Place, **fields: object) -> str:
    return actions.do_create_rule(**place.at, fields={"severity": "critical", **fields})


def run(place: Place) -> Run:
    run_id = run_actions.do_start_run(metadata=place.meta, job=place.job(), allow_overlap=True)
    return Run.unscoped.get(id=run_id)


def running(place: Place) -> Run:
    """A run the engine reports RUNNING."""
    r = run(place)
    run_actions.do_record_run_submission_started(metadata=place.meta, run=r)
    run_actions.do_record_run_submitted(metadata=place.meta, run=Run.unscoped.get(id=r.id), found_by_reconcile=False)
    observe(place, r, JobState.RUNNING)
    return Run.unscoped.get(id=r.id)


def observe(place: Place, r: Run, state: JobState, error: str | None = None) -> None:
    run_actions.do_record_run_observed(
        metadata=place.meta, run=Run.unscoped.get(id=r.id), engine_state=state, error=error, metrics={}
    )


def cluster_health(place: Place, *, reachable: bool) -> tuple[str, ...]:
    observed = ClusterHealth(
        cluster_id=place.cluster_id,
        reachable=reachable,
        error_code="" if reachable else "ZETA_UNREACHABLE",
        error_message="" if reachable else "connection refused",
        engine_version="2.3.10",
        members=(),
        members_identified=False,
        total_slots=None,
        free_slots=None,
        running_jobs=None,
        pending_jobs=None,
        heap_used=None,
        heap_max=None,
        checked_at=timezone.now(),
    )
    return clusters.do_record_cluster_health(metadata=place.meta, cluster=place.cluster(), observed=observed)


def settle() -> None:
    """What the worker does after the writes commit: the event rules, muting, then routing to channels."""
    drain(subscribers.EVALUATE_EVENTS)
    drain(subscribers.REFRESH_MUTING)
    drain(subscribers.ROUTE_NOTIFICATIONS)


def iso(moment: datetime) -> str:
    return moment.isoformat()
