"""A rebuild of the read models changes nothing but what the log says differently (ADR 0016).

Every table of the database (every model Django knows: ours, auth, sessions, guardian's object permissions,
auditlog's history) is snapshotted row for row by primary key, all columns, before and after
``maintenance.rebuild()`` of every projector, over a database that holds every kind of object the control
plane has, made through the real actions, the API and the agent API. A table added later (by any app) is in
the snapshot without a change here; if the world below leaves it empty, the coverage check fails and asks
for a row of it, because a cascade into an empty table cannot be seen.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.agents import actions as agents
from controlplane.agents import dispatch
from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.agents.selectors import authenticated_agent_for_system
from controlplane.clusters import health
from controlplane.clusters.connect import client_for
from controlplane.clusters.models import Cluster
from controlplane.eventlog import maintenance, projectors
from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.iam.models import ApiToken, Membership
from controlplane.jobs import runner
from controlplane.jobs.models import Job, RunTelemetry
from controlplane.operations import actions as operations
from controlplane.operations import runner as operation_runner
from controlplane.operations.models import Operation
from controlplane.tenancy.models import Tenant, Workspace
from tests.api.world import build_world

pytestmark = pytest.mark.django_db

# Differences a rebuild may make, table -> reason. Empty: a rebuild of an intact log changes no row anywhere.
ALLOWED_DIFFERENCES: dict[str, str] = {}

# Tables the world below leaves empty, table -> reason. Any other empty table fails the coverage check.
EMPTY_TABLES: dict[str, str] = {
    "eventlog_snapshot": "written every 100 versions of a stream; disposable cache, never touched by a rebuild",
    "eventlog_checkpoint": "rows of asynchronous subscribers, which run in Celery beat, not in this test",
    "eventlog_position_counter": "used on MariaDB/Oracle only (it has its row there)",
    "auth_group": "the control plane grants roles to users, not groups",
    "auth_group_permissions": "no groups",
    "auth_user_groups": "no groups",
    "auth_user_user_permissions": "global permissions are not used: roles are object permissions",
    "guardian_groupobjectpermission": "no groups",
    "django_admin_log": "the console's actions are audited in audit_auditrecord, not Django's admin log",
}


def _value(value: object) -> object:
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def every_model() -> list[type[models.Model]]:
    """Every table Django manages (auto-created many-to-many tables included), one model per table."""
    seen: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        seen.setdefault(model._meta.db_table, model)
    return list(seen.values())


def snapshot() -> dict[str, dict[object, tuple]]:
    """table -> {primary key: every column}."""
    tables: dict[str, dict[object, tuple]] = {}
    for model in every_model():
        fields = [f.attname for f in model._meta.concrete_fields]
        pk = model._meta.pk.attname
        rows = model._base_manager.order_by(pk).values_list(pk, *fields)
        tables[model._meta.db_table] = {row[0]: tuple(_value(v) for v in row[1:]) for row in rows}
    return tables


def differences(before: dict, after: dict) -> dict[str, str]:
    found = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        gone = [pk for pk in old if pk not in new]
        added = [pk for pk in new if pk not in old]
        changed = [pk for pk in old if pk in new and old[pk] != new[pk]]
        if gone or added or changed:
            found[table] = (
                f"{len(old)} rows before, {len(new)} after: {len(gone)} gone, {len(added)} added, "
                f"{len(changed)} changed (e.g. {(gone + added + changed)[:3]})"
            )
    return found


def _agent_post(client: Client, path: str, body: dict, credential: str):
    return client.post(
        f"/agent/v1/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Agent {credential}",
    )


def build_everything(settings, tmp_path) -> dict:
    """The API tests' world (tenants, workspaces, a member of every role, API tokens, secrets, clusters, jobs with
    versions, runs in five states, schedules, operations with their leases, bootstrap tokens, agents and actions)
    plus what it lacks: a workspace grant, a role on one cluster (the world has one on a job), a revoked token, an
    API write with an idempotency key, a session, a health poll (health row, nodes), an agent's heartbeat, claimed
    and finished actions with output and an artifact, the signing key, run telemetry."""
    settings.DATA_DIR = tmp_path
    world = build_world()
    meta = Metadata.for_system(None, reason="tests")
    acme, ws = world.acme, world.acme_ws

    # a role on one workspace only, a second workspace-scoped grant of another role, a revoked token
    scoped = User.objects.create_user("scoped-user")
    iam.do_grant_role(
        user=scoped, tenant=acme, workspace=ws, role="operator", metadata=Metadata.for_system(None, reason="tests")
    )
    iam.do_grant_role(
        user=world.users["viewer"],
        tenant=acme,
        workspace=ws,
        role="admin",
        metadata=Metadata.for_system(None, reason="tests"),
    )
    revoked, _ = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"), user=scoped, tenant=acme, name="old"
    )
    iam.do_revoke_api_token(metadata=Metadata.for_system(None, reason="tests"), token=revoked)
    # a role on one cluster beside the world's operator on one job (guardian rows pointing at read-model rows)
    iam.do_grant_object_role(
        metadata=meta, user=scoped, tenant=acme, kind="cluster", object_id=world.objects["acme_cluster"], role="viewer"
    )

    # through the API: a workspace created with an idempotency key (audit record, idempotency row), a session
    client = Client(SERVER_NAME="localhost")
    answer = client.post(
        "/api/v1/tenants/acme/workspaces/",
        {"name": "Reports", "slug": "reports"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="rebuild-1",
        **world.auth("admin"),
    )
    assert answer.status_code == 201, answer.content
    # a password login (a login session, iam_loginsession) that is then logged out
    world.users["operator"].set_password("rebuild-login-password")
    world.users["operator"].save()
    login = client.post(
        "/api/v1/auth/token/",
        {"username": world.users["operator"].username, "password": "rebuild-login-password"},
        content_type="application/json",
    )
    assert login.status_code == 200, login.content
    refresh = login.json()["refresh"]
    assert client.post("/api/v1/auth/logout/", {"refresh": refresh}, content_type="application/json").status_code < 300
    # a refresh token from before login sessions: logging out blacklists it (token_blacklist_*)
    refresh = str(RefreshToken.for_user(world.users["operator"]))
    assert client.post("/api/v1/auth/logout/", {"refresh": refresh}, content_type="application/json").status_code < 300
    client.force_login(world.users["owner"])
    assert client.get("/api/v1/tenants/acme/").status_code == 200

    # a health poll: the observation row and the nodes the emulator lists (node events)
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    with client_for(cluster, timeout=3.0, retries=0) as zeta:
        health.poll_cluster(cluster, zeta, metadata=Metadata.for_system(acme.id, reason="tests", workspace_id=ws.id))

    # an agent that heartbeats, takes its actions, reports progress with output, a result and an artifact
    place = {"metadata": meta, "tenant_id": acme.id, "workspace_id": ws.id}
    _, token = agents.do_issue_bootstrap_token(**place, cluster_id=cluster.id)
    reg = agents.do_register_agent(
        bootstrap_token=token,
        hostname="acme-node-2",
        agent_version="0.1.0",
        member_address="127.0.0.1:5802",
        allowlist=sorted(ACTION_TYPES),
        facts={"cpu_count": 2},
    )
    credential = reg.credential
    beat = {"sent_at": "2026-12-03T10:00:00Z", "facts": {"load_1m": 1}}
    assert _agent_post(client, "heartbeat", beat, credential).status_code == 200
    done = dispatch.request_action(
        metadata=replace(meta, tenant_id=acme.id, workspace_id=ws.id),
        agent_id=reg.agent_id,
        action_type="diagnostics.collect",
        params={},
        key="rebuild-done",
    )
    agent = authenticated_agent_for_system(credential)
    assert agents.do_claim_actions(metadata=agent.metadata(), agent=agent)
    _agent_post(client, f"actions/{done}/progress", {"seq": 1, "message": "collecting", "output": "a\n"}, credential)
    data = b"bundle" * 100
    sha = hashlib.sha256(data).hexdigest()
    put = client.put(
        f"/agent/v1/actions/{done}/artifact",
        data=data,
        content_type="application/octet-stream",
        HTTP_X_CONTENT_SHA256=sha,
        HTTP_AUTHORIZATION=f"Agent {credential}",
    )
    assert put.status_code == 201, put.content
    result = {"status": "succeeded", "exit_code": 0, "data": {"bundle": sha}, "output_tail": "a\n", "error": None}
    assert _agent_post(client, f"actions/{done}/result", result, credential).status_code == 200

    # an operation driven to its end by the engine: steps that succeed, retry, fail and are compensated
    settings.OPERATION_RETRY_BASE_SECONDS = 0
    settings.OPERATION_POLL_SECONDS = 0.05
    effects = {"file": str(tmp_path / "effects")}
    driven = operations.do_request_operation(
        metadata=meta,
        cluster=cluster,
        type="testing.steps",
        params={
            "steps": [
                {"key": "a", "kind": "testing.record", "compensation": "testing.undo", "params": effects},
                {"key": "f", "kind": "testing.flaky", "params": {**effects, "succeed_at": 2}},
                {"key": "x", "kind": "testing.fail", "params": effects},
            ]
        },
    )
    for _ in range(100):
        operation_runner.advance(driven)
        if Operation.unscoped.get(id=driven).finished_at is not None:
            break
    assert Operation.unscoped.get(id=driven).state == "ROLLED_BACK"

    # the sync loop's observation of a run
    run_id = world.objects["acme_run_running"]
    runner._save_telemetry(
        [
            RunTelemetry(
                run_id=run_id,
                tenant_id=acme.id,
                workspace_id=ws.id,
                metrics={"SourceReceivedCount": 5},
                metrics_at=timezone.now() - timedelta(seconds=1),
            )
        ]
    )
    # the alert evaluator's observation: a threshold that holds, waiting out its "for" (alerts_observation)
    from controlplane.alerts import actions as alerts
    from controlplane.alerts import evaluate

    alerts.do_create_rule(
        **place,
        fields={
            "name": "silent agents",
            "kind": "threshold",
            "params": {"quantity": "agent_heartbeat_age_seconds", "op": ">=", "value": 0},
            "for_seconds": 600,
        },
    )
    evaluate.evaluate(timezone.now())
    return {"world": world, "scoped": scoped}


def test_a_rebuild_of_every_projector_leaves_every_table_as_it_was(settings, tmp_path):
    built = build_everything(settings, tmp_path)
    before = snapshot()
    empty = sorted(t for t, rows in before.items() if not rows and t not in EMPTY_TABLES)
    assert not empty, f"populate these tables in build_everything() (or name them in EMPTY_TABLES): {empty}"

    applied = rebuild()

    assert set(applied) == {p.name for p in projectors.sync_projectors()}
    after = snapshot()
    found = differences(before, after)
    unexplained = {table: what for table, what in found.items() if table not in ALLOWED_DIFFERENCES}
    assert not unexplained, unexplained
    # and the people keep their access
    world = built["world"]
    assert Membership.objects.filter(tenant=world.acme).count() == 6
    assert ApiToken.objects.filter(tenant=world.acme).count() == 5
    from controlplane.iam import access

    assert access.has(world.users["operator"], "job.run", Tenant.objects.get(id=world.acme.id))
    assert access.has(built["scoped"], "job.run", world.acme, Workspace.objects.get(id=world.acme_ws.id))
    # roles on one object are state of record too (ADR 0019)
    job, cluster = (
        Job.unscoped.get(id=world.objects["acme_job"]),
        Cluster.unscoped.get(id=world.objects["acme_cluster"]),
    )
    fresh = User.objects.get(pk=world.users["acme-job-operator"].pk)
    assert access.has(fresh, "job.run", Tenant.objects.get(id=world.acme.id), obj=job)
    assert access.has(User.objects.get(pk=built["scoped"].pk), "cluster.read", world.acme, obj=cluster)


def test_a_rebuild_puts_damaged_read_models_back_and_keeps_their_keys(settings, tmp_path):
    world = build_everything(settings, tmp_path)["world"]
    before = snapshot()
    Tenant.objects.filter(id=world.acme.id).update(name="tampered", quota_jobs=1)
    Workspace.objects.filter(id=world.beta_ws.id).update(name="BETA WS")  # was "Beta WS": case counts
    Cluster.unscoped.filter(id=world.objects["beta_cluster"]).delete()  # gone: nothing points at it
    # rows the log does not produce, nothing outside the read models pointing at them: deleted, children first
    Tenant.objects.create(id="phantom", name="Phantom", slug="phantom", version=1, created_at=timezone.now())
    Workspace.objects.create(id="phantom-ws", tenant_id="phantom", name="P", slug="p", created_at=timezone.now())
    changes: dict = {}
    rebuild(changes=changes)
    assert differences(before, snapshot()) == {}
    changed = {t: vars(c) for t, c in changes.items() if c.inserted or c.updated or c.deleted}
    assert changed == {
        "tenancy_tenant": {"inserted": 0, "updated": 1, "deleted": 1},
        "tenancy_workspace": {"inserted": 0, "updated": 1, "deleted": 1},
        "clusters_cluster": {"inserted": 1, "updated": 0, "deleted": 0},
    }


def test_a_rebuild_refuses_to_drop_a_row_that_state_of_record_points_at(settings, tmp_path):
    """A tenant the log does not produce (a projector bug made it) with a role granted on it: the rebuild stops,
    names the table, and changes nothing; it never deletes the grant."""
    world = build_world()
    Tenant.objects.create(id="phantom", name="Phantom", slug="phantom", version=1, created_at=timezone.now())
    phantom = Tenant.objects.get(id="phantom")
    iam.do_grant_role(
        user=world.users["viewer"], tenant=phantom, role="viewer", metadata=Metadata.for_system(None, reason="tests")
    )
    before = snapshot()
    with pytest.raises(maintenance.RebuildRefused) as refused:
        rebuild()
    assert refused.value.code == "EVENTLOG_REBUILD_REFUSED"
    references = refused.value.details["references"]
    # the membership is the whole grant (ADR 0019): no guardian rows beside it
    assert references == ["1 row(s) of iam_membership point at tenancy_tenant"]
    assert "iam_membership" in str(refused.value)
    assert differences(before, snapshot()) == {}


def test_a_rebuild_refuses_to_drop_a_workspace_a_grant_points_at():
    """The workspace key of a membership has related_name="+": it is found all the same."""
    world = build_world()
    Workspace.objects.create(id="phantom-ws", tenant_id=world.acme.id, name="P", slug="p", created_at=timezone.now())
    phantom = Workspace.objects.get(id="phantom-ws")
    iam.do_grant_role(
        user=world.users["viewer"],
        tenant=world.acme,
        workspace=phantom,
        role="operator",
        metadata=Metadata.for_system(None, reason="t"),
    )
    before = snapshot()
    with pytest.raises(maintenance.RebuildRefused) as refused:
        rebuild()
    references = refused.value.details["references"]
    assert references == ["1 row(s) of iam_membership point at tenancy_workspace"]
    assert differences(before, snapshot()) == {}


def test_a_rebuild_refuses_to_drop_a_cluster_a_role_on_it_points_at():
    """A role on one object is a guardian row pointing at the read model's row by content type and key: a cluster
    the log does not produce with such a grant stops the rebuild, and the grant stays."""
    world = build_world()
    phantom = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    phantom.pk, phantom.name = "phantom-cluster", "phantom"
    phantom.save(force_insert=True)
    iam.do_grant_object_role(
        metadata=Metadata.for_system(None, reason="tests"),
        user=world.users["viewer"],
        tenant=world.acme,
        kind="cluster",
        object_id="phantom-cluster",
        role="operator",
    )
    before = snapshot()
    with pytest.raises(maintenance.RebuildRefused) as refused:
        rebuild()
    assert refused.value.details["references"] == [
        "1 row(s) of guardian_userobjectpermission point at clusters_cluster"
    ]
    assert differences(before, snapshot()) == {}


class GrantEraser(projectors.Projector):
    """A projector with a bug: its handler writes a table that is not its read model."""

    name = "testing.grant_eraser"

    @projectors.handles("tenancy.tenant_created")
    def on_tenant_created(self, event):
        Membership.objects.filter(tenant_id=event.data.tenant_id).delete()


def test_during_the_replay_a_projector_cannot_write_beyond_the_read_models(settings, tmp_path):
    world = build_world()
    before = snapshot()
    projectors.register(GrantEraser())
    try:
        with pytest.raises(maintenance.RebuildRefused) as refused:
            rebuild()
    finally:
        projectors.unregister(GrantEraser.name)
    assert "iam_membership" in str(refused.value)
    assert differences(before, snapshot()) == {}
    assert Membership.objects.filter(tenant=world.acme).count() == 4


def documented_tables() -> dict[str, str]:
    """docs/eventlog.md, "What a rebuild touches": table -> kind, as written in the table's second column."""
    from pathlib import Path

    text = Path(__file__).resolve().parents[2].joinpath("docs", "eventlog.md").read_text()
    section = text.split("## What a rebuild touches", 1)[1]
    found: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([a-z0-9_]+)`", cells[0]):
            found[name] = cells[1]
    return found


def test_every_table_is_declared_a_projection_or_state_of_record():
    documented = documented_tables()
    tables = {model._meta.db_table for model in every_model()}
    missing = sorted(tables - set(documented))
    assert not missing, f"say in docs/eventlog.md whether these are projections or state of record: {missing}"
    projections = {
        model._meta.db_table: f"projection (`{projector.name}`)"
        for projector in projectors.sync_projectors()
        for model in projector.read_models
    }
    declared = {table: kind for table, kind in documented.items() if kind.startswith("projection")}
    assert declared == projections
    assert all(kind.startswith("state of record") for t, kind in documented.items() if t not in projections)
