"""A small world for API tests: two tenants, a user per role on the first, an outsider on the second, and in each an
operator on one job only."""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.alerts.models import Alert
from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import actions as iam
from controlplane.iam.models import ApiToken, Membership
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, Run
from controlplane.operations import actions as operations
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.seatunnel.states import JobState as EngineState
from controlplane.secrets import actions as secrets
from controlplane.secrets import keys
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant, Workspace
from tests.operations import kinds as _operation_kinds  # noqa: F401  (the testing.steps type)

if TYPE_CHECKING:
    from controlplane.diagnostics.models import Finding

ROLES = ("viewer", "operator", "admin", "owner")

FAKE_TO_CONSOLE = """
env {
  parallelism = 1
  job.mode = "BATCH"
}
source {
  FakeSource {
    plugin_output = "fake"
    row.num = 16
    schema = { fields { name = "string", age = "int" } }
  }
}
sink {
  Console { plugin_input = "fake" }
}
"""

_emulators = ExitStack()
atexit.register(_emulators.close)
_emulator_url: list[str] = []


def emulator_url() -> str:
    """One Zeta emulator process per test process, started on first use (clusters are registered against it)."""
    if not _emulator_url:
        _emulator_url.append(_emulators.enter_context(emulator_process()).url)
    return _emulator_url[0]


@dataclass
class World:
    acme: Tenant
    beta: Tenant
    acme_ws: Workspace
    beta_ws: Workspace
    # role name -> user on acme; "outsider" -> owner of beta; "root" -> superuser; "<tenant>-job-operator" ->
    # operator on that tenant's job only
    users: dict[str, User]
    objects: dict[str, str] = field(default_factory=dict)  # ids of things to point detail URLs at

    def auth(self, who: str) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(self.users[who]).access_token}"}


def acting(user: User, tenant_id: str | None = None) -> Metadata:
    """Metadata of ``user`` acting with their live credential, as the API base builds it for a request."""
    return Metadata(tenant_id=tenant_id, actor=Actor(kind="user", id=user.get_username()), principal=user)


@contextmanager
def world_for_module(django_db_blocker, build: Callable[[], World] | None = None) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """One world for a module of tests, for a module-scoped fixture (building one takes seconds, often more than
    the test): each test runs in a savepoint inside this transaction and is rolled back, and so is the world at
    the end. Built under the tests' master key, which the function-scoped fixture has not put in place yet. A test
    must not change the world's Python objects: only the database is rolled back."""
    from tests.conftest import _TEST_MASTER_KEY

    provider = LocalKeyProvider([("test", _TEST_MASTER_KEY)])
    with django_db_blocker.unblock(), keys.using_provider(provider), transaction.atomic():
        yield (build or build_world)()
        transaction.set_rollback(True)


def build_world() -> World:
    meta = Metadata.for_system(None, reason="tests")
    acme_id = tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme")
    beta_id = tenancy.do_create_tenant(metadata=meta, name="Beta", slug="beta")
    tenancy.do_create_workspace(metadata=meta, tenant_id=acme_id, name="ETL", slug="etl")
    tenancy.do_create_workspace(metadata=meta, tenant_id=beta_id, name="Beta WS", slug="beta-ws")
    acme, beta = Tenant.objects.get(id=acme_id), Tenant.objects.get(id=beta_id)
    users = {}
    for role in ROLES:
        users[role] = User.objects.create_user(f"{role}-user")
        iam.do_grant_role(user=users[role], tenant=acme, role=role, metadata=meta)
    users["outsider"] = User.objects.create_user("outsider")
    iam.do_grant_role(user=users["outsider"], tenant=beta, role="owner", metadata=meta)
    users["root"] = User.objects.create_superuser("root")
    world = World(
        acme=acme,
        beta=beta,
        acme_ws=Workspace.objects.get(tenant=acme),
        beta_ws=Workspace.objects.get(tenant=beta),
        users=users,
    )
    # one of each detail object per tenant, owned where the endpoint expects them
    world.objects["acme_member"] = str(Membership.objects.get(user=users["viewer"], tenant=acme).pk)
    world.objects["beta_member"] = str(Membership.objects.get(user=users["outsider"], tenant=beta).pk)
    for role in (*ROLES, "outsider"):
        tenant = beta if role == "outsider" else acme
        token, _ = iam.do_create_api_token(metadata=meta, user=users[role], tenant=tenant, name=f"{role} token")
        world.objects[f"token_{role}"] = token.id
    world.objects["beta_token"] = world.objects["token_outsider"]
    for prefix, tenant in (("acme", acme), ("beta", beta)):
        invitation, _ = iam.do_invite_user(
            metadata=meta,
            tenant=tenant,
            username=f"{prefix}-invitee",
            role="viewer",
        )
        world.objects[f"{prefix}_invitation"] = invitation.id
    world.objects["zeta_url"] = emulator_url()
    for prefix, tenant, workspace in (("acme", acme, world.acme_ws), ("beta", beta, world.beta_ws)):
        world.objects[f"{prefix}_secret"] = secrets.do_create_secret(
            metadata=meta, tenant_id=tenant.id, workspace_id=workspace.id, name="db-password", value="s3cr3t-value"
        )
        world.objects[f"{prefix}_cluster"] = clusters.do_register_cluster(
            metadata=meta,
            tenant_id=tenant.id,
            workspace_id=workspace.id,
            name="zeta",
            form="bare_metal",
            mode="hybrid",
            endpoints=[emulator_url()],
        )
        job_id = jobs.do_create_job(
            metadata=meta,
            tenant_id=tenant.id,
            workspace_id=workspace.id,
            name="fake-to-console",
            cluster_id=world.objects[f"{prefix}_cluster"],
            config=FAKE_TO_CONSOLE,
        )
        jobs.do_revise_job(
            metadata=meta, job=Job.unscoped.get(id=job_id), config=FAKE_TO_CONSOLE.replace("16", "32"), message="more"
        )
        world.objects[f"{prefix}_job"] = job_id
        _runs(world, meta, prefix, Job.unscoped.get(id=job_id))
        scheduled = jobs.do_create_job(
            metadata=meta,
            tenant_id=tenant.id,
            workspace_id=workspace.id,
            name="nightly",
            cluster_id=world.objects[f"{prefix}_cluster"],
            config=FAKE_TO_CONSOLE,
        )
        jobs.do_set_schedule(metadata=meta, job=Job.unscoped.get(id=scheduled), cron="0 2 * * *", timezone="UTC")
        world.objects[f"{prefix}_scheduled_job"] = scheduled
        # a PENDING operation (its task is never run here) of control-plane testing steps: no agent needed
        world.objects[f"{prefix}_operation"] = operations.do_request_operation(
            metadata=meta,
            cluster=Cluster.unscoped.get(id=world.objects[f"{prefix}_cluster"]),
            type="testing.steps",
            params={"steps": [{"key": "a", "kind": "testing.record", "params": {"file": "/dev/null"}}]},
        )
        _agents(world, meta, prefix, tenant, workspace)
        _alerts(world, meta, prefix, tenant, workspace)
        _notifications(world, meta, prefix, tenant, workspace)
        _diagnosis(world, meta, prefix)
        # a role on one object: operator on the tenant's first job (ADR 0019)
        users[f"{prefix}-job-operator"] = User.objects.create_user(f"{prefix}-job-operator")
        grant = iam.do_grant_object_role(
            metadata=meta,
            user=users[f"{prefix}-job-operator"],
            tenant=tenant,
            kind="job",
            object_id=world.objects[f"{prefix}_job"],
            role="operator",
        )
        world.objects[f"{prefix}_object_grant"] = str(grant.pk)
    assert ApiToken.objects.count() == len(ROLES) + 1
    return world


def _agents(world: World, meta: Metadata, prefix: str, tenant: Tenant, workspace: Workspace) -> None:
    """An unused bootstrap token, a registered agent and one queued action on it."""
    from controlplane.agents import actions as agents
    from controlplane.agents.domain.catalog import ACTION_TYPES

    place = {"metadata": meta, "tenant_id": tenant.id, "workspace_id": workspace.id}
    world.objects[f"{prefix}_agent_token"], _ = agents.do_issue_bootstrap_token(**place)
    _, text = agents.do_issue_bootstrap_token(**place, cluster_id=world.objects[f"{prefix}_cluster"])
    registration = agents.do_register_agent(
        bootstrap_token=text,
        hostname=f"{prefix}-node-1",
        agent_version="0.1.0",
        member_address="127.0.0.1:5801",
        allowlist=sorted(ACTION_TYPES),
        facts={},
    )
    world.objects[f"{prefix}_agent"] = registration.agent_id
    world.objects[f"{prefix}_agent_action"] = agents.do_request_action(
        metadata=meta, agent_id=registration.agent_id, action_type="service.status", params={}, key="world"
    )


def _alerts(world: World, meta: Metadata, prefix: str, tenant: Tenant, workspace: Workspace) -> None:
    """A rule, an alert received from Alertmanager (firing) and an active silence."""
    from controlplane.alerts import actions as alerts
    from tests.api.endpoints import alertmanager_body

    place = {"metadata": meta, "tenant_id": tenant.id, "workspace_id": workspace.id}
    world.objects[f"{prefix}_alert_rule"] = alerts.do_create_rule(
        **place, fields={"name": "run failed", "kind": "run_failed", "severity": "critical"}
    )
    alerts.do_receive_alertmanager(**place, body=alertmanager_body())
    world.objects[f"{prefix}_alert"] = Alert.unscoped.get(workspace_id=workspace.id, rule_name="SeaTunnelNodeDown").id
    world.objects[f"{prefix}_silence"] = alerts.do_create_silence(
        **place,
        fields={
            "matchers": [{"name": "alertname", "op": "=", "value": "Never"}],
            "ends_at": (timezone.now() + timedelta(days=30)).isoformat(),
            "reason": "a silence to look at",
        },
    )


def _notifications(world: World, meta: Metadata, prefix: str, tenant: Tenant, workspace: Workspace) -> None:
    """A webhook channel with a dead delivery (redeliverable), and a disabled channel (enable-able)."""
    from datetime import UTC, datetime

    from controlplane.notifications import actions as notifications
    from controlplane.notifications.domain.notice import Notice
    from controlplane.notifications.models import Delivery

    place = {"metadata": meta, "tenant_id": tenant.id, "workspace_id": workspace.id, "kind": "webhook"}
    hook = {"webhook_url": "http://127.0.0.1:9/hook", "signing_secret": "world-secret"}
    channel_id = notifications.do_create_channel(**place, name="hook", **hook)
    world.objects[f"{prefix}_channel"] = channel_id
    disabled = notifications.do_create_channel(**place, name="paused hook", **hook)
    notifications.do_disable_channel(metadata=meta, channel_id=disabled, reason="paused")
    world.objects[f"{prefix}_disabled_channel"] = disabled
    notice = Notice(
        kind="alert",
        status="firing",
        severity="warning",
        name="RunFailed",
        summary="a run failed",
        labels=(),
        fingerprint="world",
        starts_at=datetime(2026, 12, 1, tzinfo=UTC),
        ends_at=None,
    )
    delivery_id = notifications.do_send_notification(metadata=meta, channel_id=channel_id, notice=notice, dedup_key="w")
    Delivery.unscoped.filter(id=delivery_id).update(
        state="dead", attempts=6, last_error_code="NOTIFICATION_UNREACHABLE"
    )
    world.objects[f"{prefix}_delivery"] = delivery_id


def _diagnosis(world: World, meta: Metadata, prefix: str) -> None:
    """A diagnostic archive with one finding whose one-click fix is an agent action, and the hash of that fix's
    plan."""
    from controlplane.diagnostics import fixes

    cluster = Cluster.unscoped.get(id=world.objects[f"{prefix}_cluster"])
    finding = record_diagnosis(meta, cluster, timezone.now() + timedelta(days=30))
    world.objects[f"{prefix}_archive"] = finding.archive_id
    world.objects[f"{prefix}_finding"] = finding.id
    world.objects[f"{prefix}_fix_hash"] = fixes.plan_fix(finding, cluster).hash


def record_diagnosis(meta: Metadata, cluster: Cluster, expires_at: datetime) -> Finding:
    """A diagnose operation (it stays PENDING) whose archive and finding (``worker_lost``) are recorded as its pack
    step would; returns the finding."""
    from controlplane.diagnostics import actions as diagnostics
    from controlplane.diagnostics.diagnose import archive_path
    from controlplane.diagnostics.domain.pack import Entry, pack
    from controlplane.diagnostics.models import Finding

    operation_id = operations.do_request_operation(metadata=meta, cluster=cluster, type="diagnose", params={})
    operation, _ = operations.load_operation(operation_id)
    entries = [Entry("engine/overview.json", b"{}", "engine:rest")]
    packed = pack(
        archive_path(operation_id), top=f"diagnostics-{operation_id}", entries=entries, manifest=lambda files: {}
    )
    diagnostics.do_record_archive(
        metadata=meta,
        operation=operation,
        subject={"kind": "cluster", "id": cluster.id},
        size=packed.size,
        sha256=packed.sha256,
        files=packed.files,
        failures=[],
        expires_at=expires_at,
        findings=[
            {
                "fingerprint_id": "worker_lost",
                "title": "A worker left the cluster",
                "severity": "error",
                "score": 1.0,
                "evidence": "com.hazelcast.core.MemberLeftException: Member [10.0.0.12]:5802 - has left cluster!",
                "source_file": "engine/logs/job.log",
                "node": "",
                "run_id": "",
            }
        ],
    )
    return Finding.unscoped.get(archive_id=operation_id)


RUN_STATES = ("pending", "running", "paused", "failed", "unknown")


def _runs(world: World, meta: Metadata, prefix: str, job: Job) -> None:
    """One run of the job in each state an endpoint needs, moved there by the writers the worker and the sync loop
    call (no engine is asked: the tests do not run the queued tasks)."""
    for name in RUN_STATES:
        run_id = run_actions.do_start_run(metadata=meta, job=job, allow_overlap=True)
        world.objects[f"{prefix}_run_{name}"] = run_id
        steps = {
            "pending": [],
            "running": [_begin, _ack, _observe(EngineState.RUNNING)],
            "paused": [_begin, _ack, _observe(EngineState.RUNNING), _pause, _observe(EngineState.SAVEPOINT_DONE)],
            "failed": [_begin, _refused],
            "unknown": [_begin, _ack, _observe(EngineState.RUNNING), _lost],
        }[name]
        for step in steps:
            step(meta, Run.unscoped.get(id=run_id))


def _begin(meta: Metadata, run: Run) -> None:
    run_actions.do_record_run_submission_started(metadata=meta, run=run)


def _ack(meta: Metadata, run: Run) -> None:
    run_actions.do_record_run_submitted(metadata=meta, run=run, found_by_reconcile=False)


def _refused(meta: Metadata, run: Run) -> None:
    run_actions.do_record_run_submit_failed(metadata=meta, run=run, code="ZETA_REQUEST_REJECTED", message="no")


def _pause(meta: Metadata, run: Run) -> None:
    run_actions.do_stop_run(metadata=meta, run=run, savepoint=True)


def _lost(meta: Metadata, run: Run) -> None:
    run_actions.do_record_run_lost(metadata=meta, run=run)


def _observe(engine_state: EngineState):  # type: ignore[no-untyped-def]
    def observe(meta: Metadata, run: Run) -> None:
        run_actions.do_record_run_observed(metadata=meta, run=run, engine_state=engine_state, error=None, metrics={})

    return observe
