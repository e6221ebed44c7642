"""Roles on one object (ADR 0019) in the permission matrix, generated from endpoints.ENDPOINTS: an operator on one
job or one cluster reaches that object (and a job's runs) with exactly the points of the role, a sibling object
answers 404 like an unknown id, lists show only the objects granted, and everything else is refused. And the one
truth for tenant and workspace roles: access follows the Membership rows and nothing else, through a rebuild too."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from guardian.models import UserObjectPermission
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.audit.models import AuditRecord
from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import access
from controlplane.iam import actions as iam
from controlplane.iam.models import Membership
from controlplane.iam.permissions import OBJECT_ROLES
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, Run
from controlplane.operations import actions as operations
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant, Workspace
from tests.api.endpoints import ENDPOINTS, Endpoint, T, W
from tests.api.test_generated import call
from tests.api.world import World, acting, build_world, emulator_url, world_for_module

pytestmark = pytest.mark.django_db
SYSTEM = Metadata.for_system(None, reason="tests")
# The endpoints whose views honour a role on one object, by the kind of object they serve.
HONOURED = {"job": ("job-", "run-"), "cluster": ("cluster-", "operation-")}
USERS = {"job": "acme-job-operator", "cluster": "cluster-operator"}


def _build() -> World:
    built = build_world()
    # a sibling of each granted object in the same workspace, and a cluster operator on the first cluster only
    built.objects["acme_sibling_cluster"] = clusters.do_register_cluster(
        metadata=SYSTEM,
        tenant_id=built.acme.id,
        workspace_id=built.acme_ws.id,
        name="sibling",
        form="bare_metal",
        mode="hybrid",
        endpoints=[emulator_url()],
    )
    built.objects["acme_sibling_run"] = run_actions.do_start_run(
        metadata=SYSTEM, job=Job.unscoped.get(id=built.objects["acme_scheduled_job"]), allow_overlap=True
    )
    built.objects["acme_sibling_operation"] = operations.do_request_operation(
        metadata=SYSTEM,
        cluster=Cluster.unscoped.get(id=built.objects["acme_sibling_cluster"]),
        type="testing.steps",
        params={"steps": [{"key": "a", "kind": "testing.record", "params": {"file": "/dev/null"}}]},
    )
    built.users["cluster-operator"] = User.objects.create_user("cluster-operator")
    iam.do_grant_object_role(
        metadata=SYSTEM,
        user=built.users["cluster-operator"],
        tenant=built.acme,
        kind="cluster",
        object_id=built.objects["acme_cluster"],
        role="operator",
    )
    return built


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker, _build) as built:
        yield built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def _kind(endpoint: Endpoint) -> str:
    if endpoint.name.startswith("job-template"):
        return ""  # the connector templates are the tenant's, not one job's: no object grant reaches them
    return next((kind for kind, prefixes in HONOURED.items() if endpoint.name.startswith(prefixes)), "")


def expected(endpoint: Endpoint, kind: str, path: str, world: World) -> int:
    """What an operator on one object of ``kind`` gets: the role's points on that object (and a job's runs); a
    sibling object is not found; lists answer (filtered); any other point is refused."""
    if _kind(endpoint) != kind or endpoint.point not in OBJECT_ROLES[kind]["operator"]:
        return 403
    siblings = (
        world.objects["acme_scheduled_job"],
        world.objects["acme_sibling_cluster"],
        world.objects["acme_sibling_operation"],
    )
    return 404 if any(sibling in path for sibling in siblings) else endpoint.ok


MATRIX = [e for e in ENDPOINTS if _kind(e) or e.name.startswith("job-template")]


@pytest.mark.parametrize("kind", list(USERS))
@pytest.mark.parametrize("endpoint", MATRIX, ids=[e.name for e in MATRIX])
def test_an_operator_on_one_object_reaches_exactly_that_object(client, world, endpoint, kind):
    who = USERS[kind]
    path = endpoint.path(world, "operator")
    before = AuditRecord.objects.count()
    response = call(client, endpoint, path, world, world.auth(who))
    want = expected(endpoint, kind, path, world)
    assert response.status_code == want, response.content
    if want == 403:
        assert response.json()["error"]["details"]["permission"] == endpoint.point
    if want in (403, 404):  # refused, reads included: one record on the tenant's trail
        records = AuditRecord.objects.order_by("id")[before:]
        assert [(r.tenant_id, r.result, r.actor_id) for r in records] == [(world.acme.id, "denied", who)]


@pytest.mark.parametrize(
    ("kind", "sibling"),
    [
        ("job", "jobs/acme_scheduled_job"),
        ("job", "runs/acme_sibling_run"),
        ("cluster", "clusters/acme_sibling_cluster"),
        ("cluster", "operations/acme_sibling_operation"),
    ],
)
def test_a_sibling_object_answers_like_an_unknown_id(client, world, kind, sibling):
    collection, key = sibling.split("/")
    sibling = f"{W}/{collection}/{world.objects[key]}/"
    made_up = sibling.rsplit("/", 2)[0] + "/0123456789abcdef0123456789abcdef/"
    auth = world.auth(USERS[kind])
    real, unknown = client.get(sibling, **auth), client.get(made_up, **auth)
    assert real.status_code == unknown.status_code == 404
    assert real.json()["error"]["code"] == unknown.json()["error"]["code"] == "NOT_FOUND"


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_lists_show_only_the_objects_granted(client, world):
    job_operator, cluster_operator = world.auth("acme-job-operator"), world.auth("cluster-operator")
    assert _ids(client.get(f"{W}/jobs/", **job_operator)) == [world.objects["acme_job"]]
    runs = _ids(client.get(f"{W}/runs/", **job_operator))
    assert runs == sorted(Run.unscoped.filter(job_id=world.objects["acme_job"]).values_list("id", flat=True))
    assert world.objects["acme_sibling_run"] not in runs
    assert _ids(client.get(f"{W}/clusters/", **cluster_operator)) == [world.objects["acme_cluster"]]
    on_cluster = sorted([world.objects["acme_operation"], world.objects["acme_archive"]])  # the archive's: a diagnose
    assert _ids(client.get(f"{W}/operations/", **cluster_operator)) == on_cluster
    assert _ids(client.get(f"{W}/diagnostic-archives/", **cluster_operator)) == [world.objects["acme_archive"]]
    # requesting an operation: on the granted cluster, not on its sibling (not found, nothing written)
    steps = {"steps": [{"key": "a", "kind": "testing.record", "params": {"file": "/dev/null"}}]}
    body = {"cluster_id": world.objects["acme_cluster"], "type": "testing.steps", "params": steps}
    on_granted = client.post(f"{W}/operations/", body, content_type="application/json", **cluster_operator)
    assert on_granted.status_code == 202, on_granted.content
    body["cluster_id"] = world.objects["acme_sibling_cluster"]
    on_sibling = client.post(f"{W}/operations/", body, content_type="application/json", **cluster_operator)
    assert on_sibling.status_code == 404 and on_sibling.json()["error"]["code"] == "NOT_FOUND"
    assert len(_ids(client.get(f"{W}/operations/", **cluster_operator))) == 3
    # what an owner sees, for contrast: the siblings are there
    assert world.objects["acme_sibling_cluster"] in _ids(client.get(f"{W}/clusters/", **world.auth("owner")))


def test_an_object_grant_shows_its_tenant_and_workspace_and_nothing_else(client, world):
    tenancy.do_create_workspace(metadata=SYSTEM, tenant_id=world.acme.id, name="Hidden", slug="hidden")
    auth = world.auth("acme-job-operator")
    assert [t["slug"] for t in client.get("/api/v1/tenants/", **auth).json()["results"]] == ["acme"]
    assert client.get(f"{T}/", **auth).status_code == 200
    assert [w["slug"] for w in client.get(f"{T}/workspaces/", **auth).json()["results"]] == ["etl"]
    assert client.get(f"{T}/workspaces/etl/", **auth).status_code == 200
    assert client.get(f"{T}/workspaces/hidden/jobs/", **auth).status_code == 404
    assert client.get(f"{T}/members/", **auth).status_code == 403
    assert client.get("/api/v1/tenants/beta/", **auth).status_code == 404


def test_object_grants_are_managed_through_the_api_and_audited(client, world):
    owner, newcomer = world.auth("owner"), User.objects.create_user("newcomer")
    body = {"username": "newcomer", "kind": "cluster", "object": world.objects["acme_cluster"], "role": "viewer"}
    created = client.post(f"{T}/object-grants/", body, content_type="application/json", **owner)
    assert created.status_code == 201, created.content
    grant = created.json()
    assert (grant["username"], grant["kind"], grant["object"], grant["role"]) == (
        "newcomer",
        "cluster",
        world.objects["acme_cluster"],
        "viewer",
    )
    assert AuditRecord.objects.filter(action="object_grant.create", result="ok", resource_id=str(grant["id"])).exists()
    listed = client.get(f"{T}/object-grants/", **owner).json()["results"]
    assert {(g["username"], g["object"]) for g in listed} == {
        ("acme-job-operator", world.objects["acme_job"]),
        ("cluster-operator", world.objects["acme_cluster"]),
        ("newcomer", world.objects["acme_cluster"]),
    }
    auth = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(newcomer).access_token}"}
    cluster = f"{W}/clusters/{world.objects['acme_cluster']}/"
    assert client.get(cluster, **auth).status_code == 200
    assert client.post(f"{cluster}poll/", **auth).status_code == 200  # a viewer may refresh health (cluster.read)
    # granting again replaces the role on that object: still one grant
    body["role"] = "operator"
    again = client.post(f"{T}/object-grants/", body, content_type="application/json", **owner)
    assert again.status_code == 201 and again.json()["id"] == grant["id"] and again.json()["role"] == "operator"
    assert client.delete(f"{T}/object-grants/{grant['id']}/", **owner).status_code == 204
    assert client.get(cluster, **auth).status_code == 404
    assert client.get(f"{T}/", **auth).status_code == 404  # nothing left in the tenant: not even its name


def test_an_object_of_another_tenant_cannot_be_granted(client, world):
    body = {"username": "viewer-user", "kind": "job", "object": world.objects["beta_job"], "role": "operator"}
    refused = client.post(f"{T}/object-grants/", body, content_type="application/json", **world.auth("owner"))
    assert refused.status_code == 404, refused.content
    assert refused.json()["error"]["code"] == "OBJECT_NOT_FOUND"
    assert not UserObjectPermission.objects.filter(object_pk=world.objects["beta_job"], user__username="viewer-user")


def test_only_member_managers_grant_on_objects(client, world):
    body = {"username": "viewer-user", "kind": "job", "object": world.objects["acme_job"], "role": "operator"}
    for who in ("admin", "acme-job-operator"):
        refused = client.post(f"{T}/object-grants/", body, content_type="application/json", **world.auth(who))
        assert refused.status_code == 403 and refused.json()["error"]["details"]["permission"] == "member.manage"
    with pytest.raises(access.AccessDenied):
        iam.do_grant_object_role(
            metadata=acting(world.users["admin"]),
            user=world.users["viewer"],
            tenant=world.acme,
            kind="job",
            object_id=world.objects["acme_job"],
            role="operator",
        )


# --- one truth: Membership --------------------------------------------------------------------------------------


def _fresh(user: User) -> User:
    """The user as a new request sees them (nothing cached on the object)."""
    return User.objects.get(pk=user.pk)


def _answers(user: User, world: World) -> tuple[bool, bool, bool]:
    acme = Tenant.objects.get(id=world.acme.id)
    etl = Workspace.objects.get(id=world.acme_ws.id)
    user = _fresh(user)
    return access.visible(user, acme), access.has(user, "job.run", acme), access.has(user, "job.run", acme, etl)


def test_access_follows_membership_only_through_grant_revoke_and_rebuild(world):
    user = User.objects.create_user("newcomer")
    assert _answers(user, world) == (False, False, False)
    membership = iam.do_grant_role(metadata=SYSTEM, user=user, tenant=world.acme, role="operator")
    assert _answers(user, world) == (True, True, True)
    # no second copy of the grant anywhere: no guardian rows on tenants or workspaces
    assert not UserObjectPermission.objects.filter(content_type__app_label="tenancy").exists()
    iam.do_grant_role(metadata=SYSTEM, user=user, tenant=world.acme, role="viewer")
    assert _answers(user, world) == (True, False, False)
    iam.do_revoke_role(metadata=SYSTEM, membership=Membership.objects.get(pk=membership.pk))
    assert _answers(user, world) == (False, False, False)
    # the row is the grant: written or removed behind the writers' back, access still follows it
    row = Membership.objects.create(
        user=user,
        tenant=world.acme,
        workspace=world.acme_ws,
        scope=world.acme_ws.id,
        role="operator",
        granted_by="tests",
    )
    assert _answers(user, world) == (True, False, True)
    rebuild()
    assert _answers(user, world) == (True, False, True)
    row.delete()
    assert _answers(user, world) == (False, False, False)


def test_a_rebuild_keeps_object_grants_and_what_they_allow(client, world):
    operator = world.users["acme-job-operator"]
    job = Job.unscoped.get(id=world.objects["acme_job"])
    acme = Tenant.objects.get(id=world.acme.id)
    grants_before = list(UserObjectPermission.objects.order_by("id").values_list("id", "user_id", "object_pk"))
    assert access.has(_fresh(operator), "job.run", acme, obj=job)
    rebuild()
    assert list(UserObjectPermission.objects.order_by("id").values_list("id", "user_id", "object_pk")) == grants_before
    assert access.has(_fresh(operator), "job.run", acme, obj=Job.unscoped.get(id=job.id))
    assert not access.has(_fresh(operator), "job.update", acme, obj=job)
    assert not access.has(
        _fresh(operator), "job.run", acme, obj=Job.unscoped.get(id=world.objects["acme_scheduled_job"])
    )
    assert _ids(client.get(f"{W}/jobs/", **world.auth("acme-job-operator"))) == [job.id]


def test_writers_honour_a_role_on_the_object_they_change(world):
    """``authorize(..., obj=...)``: the operator on one job may act on it (and its runs), not on its sibling."""
    operator = world.users["acme-job-operator"]
    meta = acting(operator, world.acme.id)
    job = Job.unscoped.get(id=world.objects["acme_job"])
    run = Run.unscoped.get(id=world.objects["acme_run_running"])
    access.authorize(meta, "job.run", tenant_id=job.tenant_id, workspace_id=job.workspace_id, obj=job)
    access.authorize(meta, "job.stop", tenant_id=run.tenant_id, workspace_id=run.workspace_id, obj=run)
    with pytest.raises(access.AccessDenied):
        access.authorize(meta, "job.update", tenant_id=job.tenant_id, workspace_id=job.workspace_id, obj=job)
    with pytest.raises(access.AccessDenied):
        access.authorize(meta, "job.run", tenant_id=job.tenant_id, workspace_id=job.workspace_id)
    sibling = Job.unscoped.get(id=world.objects["acme_scheduled_job"])
    with pytest.raises(access.AccessDenied):
        access.authorize(meta, "job.run", tenant_id=sibling.tenant_id, workspace_id=sibling.workspace_id, obj=sibling)
    beta_job = Job.unscoped.get(id=world.objects["beta_job"])
    with pytest.raises(access.NotVisible):  # an object of another tenant than the one named
        access.authorize(meta, "job.run", tenant_id=job.tenant_id, obj=beta_job)


def test_a_restart_needs_cluster_restart_and_other_operations_operation_run(world):
    """Each operation type names its point (plans.register_type): a viewer of one cluster is refused each, naming it;
    the operator of that cluster holds both there."""
    viewer = User.objects.create_user("cluster-viewer")
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    iam.do_grant_object_role(
        metadata=SYSTEM, user=viewer, tenant=world.acme, kind="cluster", object_id=cluster.id, role="viewer"
    )
    for type_name, point in (("rolling_restart", "cluster.restart"), ("testing.steps", "operation.run")):
        with pytest.raises(access.AccessDenied) as refused:
            operations.do_request_operation(
                metadata=acting(_fresh(viewer), world.acme.id), cluster=cluster, type=type_name, params={}
            )
        assert refused.value.details["permission"] == point
    operator = acting(_fresh(world.users["cluster-operator"]), world.acme.id)
    steps = {"steps": [{"key": "a", "kind": "testing.record", "params": {"file": "/dev/null"}}]}
    assert operations.do_request_operation(metadata=operator, cluster=cluster, type="testing.steps", params=steps)
    for point in ("cluster.restart", "operation.run"):
        access.authorize(operator, point, tenant_id=cluster.tenant_id, workspace_id=cluster.workspace_id, obj=cluster)
