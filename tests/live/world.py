"""A small world for live tests: two tenants, a run in each, users and credentials of every kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.clusters import actions as clusters
from controlplane.eventlog import store
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam import actions as iam
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant, Workspace
from tests.api.world import FAKE_TO_CONSOLE, emulator_url
from tests.eventlog.events import ThingHappened


@dataclass
class LiveWorld:
    acme: Tenant
    beta: Tenant
    etl: Workspace  # acme's workspace with the run
    other: Workspace  # a second workspace of acme
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)  # user name -> API token plaintext
    runs: dict[str, str] = field(default_factory=dict)  # "acme" / "beta" -> run id
    jwts: dict[str, str] = field(default_factory=dict)  # user name -> access token (issued before async code)

    def jwt(self, who: str) -> str:
        return str(RefreshToken.for_user(self.users[who]).access_token)


def build() -> LiveWorld:
    meta = Metadata.for_system(None, reason="tests")
    acme_id = tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme")
    beta_id = tenancy.do_create_tenant(metadata=meta, name="Beta", slug="beta")
    tenancy.do_create_workspace(metadata=meta, tenant_id=acme_id, name="ETL", slug="etl")
    tenancy.do_create_workspace(metadata=meta, tenant_id=acme_id, name="Other", slug="other")
    tenancy.do_create_workspace(metadata=meta, tenant_id=beta_id, name="Beta WS", slug="beta-ws")
    acme, beta = Tenant.objects.get(id=acme_id), Tenant.objects.get(id=beta_id)
    world = LiveWorld(
        acme=acme,
        beta=beta,
        etl=Workspace.objects.get(tenant=acme, slug="etl"),
        other=Workspace.objects.get(tenant=acme, slug="other"),
        users={},
    )
    users = world.users
    users["viewer"] = User.objects.create_user("viewer-user")
    iam.do_grant_role(
        user=users["viewer"], tenant=acme, role="viewer", metadata=Metadata.for_system(None, reason="tests")
    )
    # a member of acme who holds a role on the other workspace only
    users["other-only"] = User.objects.create_user("other-only")
    iam.do_grant_role(
        user=users["other-only"],
        tenant=acme,
        role="operator",
        metadata=Metadata.for_system(None, reason="tests"),
        workspace=world.other,
    )
    users["outsider"] = User.objects.create_user("outsider")
    iam.do_grant_role(
        user=users["outsider"], tenant=beta, role="owner", metadata=Metadata.for_system(None, reason="tests")
    )
    users["root"] = User.objects.create_superuser("root")
    for name in ("viewer", "outsider", "other-only"):
        tenant = beta if name == "outsider" else acme
        _, plaintext = iam.do_create_api_token(
            metadata=Metadata.for_system(None, reason="tests"), user=users[name], tenant=tenant, name=f"{name} token"
        )
        world.tokens[name] = plaintext
    for prefix, tenant, workspace in (
        ("acme", acme, world.etl),
        ("beta", beta, Workspace.objects.get(tenant=beta)),
    ):
        cluster_id = clusters.do_register_cluster(
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
            cluster_id=cluster_id,
            config=FAKE_TO_CONSOLE,
        )
        world.runs[prefix] = run_actions.do_start_run(metadata=meta, job=Job.unscoped.get(id=job_id))
    return world


def run_meta(world: LiveWorld, prefix: str = "acme") -> Metadata:
    tenant = world.acme if prefix == "acme" else world.beta
    workspace = world.etl if prefix == "acme" else Workspace.objects.get(tenant=tenant)
    return Metadata(
        tenant_id=tenant.id,
        workspace_id=workspace.id,
        actor=Actor(kind="user", id="tester"),
        request_id="req-live",
        client_address="203.0.113.7",  # must never reach a websocket client
    )


def append_to_run(world: LiveWorld, count: int, prefix: str = "acme", start: int = 0) -> list[int]:
    """Append ``count`` events to the run's stream (a test event type: the log does not care); positions."""
    stream = StreamRef(type="jobs.run", id=f"run-{world.runs[prefix]}")
    meta = run_meta(world, prefix)
    positions = []
    for n in range(start, start + count):
        recorded = store.append(stream, store.stream_version(stream.id), [ThingHappened(n=n, label=prefix)], meta)
        positions.append(recorded[0].position)
    return positions
