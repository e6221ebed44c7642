"""Every API endpoint, declared once: the generated tests and the coverage meta test read this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from tests.api.world import FAKE_TO_CONSOLE, World


@dataclass(frozen=True)
class Endpoint:
    name: str  # URL name in an app's api/urls.py + "." + HTTP method
    method: str
    path: Callable[[World, str], str]  # (world, role) -> URL under acme for that role
    point: str | None  # permission point; None: any member of the tenant
    ok: int
    body: Callable[[World], dict] | None = None
    versioned: bool = False  # honours If-Match
    cross_tenant_path: Callable[[World], str] | None = None  # acme URL with a beta object's id

    @property
    def mutating(self) -> bool:
        return self.method not in ("get", "head", "options")


T = "/api/v1/tenants/acme"
W = f"{T}/workspaces/etl"


def _secret(world: World, key: str = "acme_secret") -> str:
    return f"{W}/secrets/{world.objects[key]}/"


def _job(world: World, key: str = "acme_job") -> str:
    return f"{W}/jobs/{world.objects[key]}/"


def _cluster(world: World, key: str = "acme_cluster") -> str:
    return f"{W}/clusters/{world.objects[key]}/"


def _agent(world: World, tenant: str = "acme") -> str:
    return f"{W}/agents/{world.objects[f'{tenant}_agent']}/"


def _agent_action(world: World, tenant: str = "acme") -> str:
    return f"{W}/agent-actions/{world.objects[f'{tenant}_agent_action']}/"


def _run(world: World, state: str, tenant: str = "acme") -> str:
    """An acme run URL; with tenant="beta", the acme URL of a beta run (a tenant crossing)."""
    return f"{W}/runs/{world.objects[f'{tenant}_run_{state}']}/"


def _operation(world: World, key: str = "acme_operation") -> str:
    return f"{W}/operations/{world.objects[key]}/"


def _operation_body(world: World) -> dict:
    """A plan of control-plane testing steps: plannable without agents (tests/operations/kinds.py)."""
    return {
        "type": "testing.steps",
        "cluster_id": world.objects["acme_cluster"],
        "params": {"steps": [{"key": "a", "kind": "testing.record", "params": {"file": "/dev/null"}}]},
    }


def _alert_rule(world: World, tenant: str = "acme") -> str:
    return f"{W}/alert-rules/{world.objects[f'{tenant}_alert_rule']}/"


def _alert(world: World, tenant: str = "acme") -> str:
    return f"{W}/alerts/{world.objects[f'{tenant}_alert']}/"


def _silence(world: World, tenant: str = "acme") -> str:
    return f"{W}/silences/{world.objects[f'{tenant}_silence']}/"


def alertmanager_body(status: str = "firing", alertname: str = "SeaTunnelNodeDown") -> dict:
    """A body as Alertmanager 0.27's webhook notifier sends it (notify/webhook: version 4)."""
    return {
        "receiver": "controlplane",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": alertname,
                    "cluster": "zeta",
                    "instance": "10.0.0.5:8080",
                    "severity": "critical",
                },
                "annotations": {"summary": "SeaTunnel node 10.0.0.5:8080 is down"},
                "startsAt": "2026-12-04T10:00:00.123456789Z",
                "endsAt": "2026-12-04T10:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
                "fingerprint": "6e0c1d6b8a3f2e11",
            }
        ],
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"alertname": alertname, "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}:{alertname=" + f'"{alertname}"' + "}",
        "truncatedAlerts": 0,
    }


def _channel(world: World, key: str = "acme_channel") -> str:
    return f"{W}/notification-channels/{world.objects[key]}/"


def _delivery(world: World, key: str = "acme_delivery") -> str:
    return f"{W}/notification-deliveries/{world.objects[key]}/"


def _archive(world: World, tenant: str = "acme") -> str:
    return f"{W}/diagnostic-archives/{world.objects[f'{tenant}_archive']}/"


def _finding(world: World, tenant: str = "acme") -> str:
    return f"{W}/findings/{world.objects[f'{tenant}_finding']}/"


def _own_token(world: World, role: str) -> str:
    return world.objects.get(f"token_{role}", world.objects["token_owner"])


ENDPOINTS: list[Endpoint] = [
    Endpoint("tenant-detail.get", "get", lambda w, r: f"{T}/", "tenant.read", 200),
    Endpoint(
        "tenant-detail.patch",
        "patch",
        lambda w, r: f"{T}/",
        "tenant.update",
        200,
        body=lambda w: {"name": "Acme Renamed"},
        versioned=True,
    ),
    Endpoint(
        "tenant-quotas.put",
        "put",
        lambda w, r: f"{T}/quotas/",
        "tenant.update",
        200,
        body=lambda w: {"clusters": 3, "jobs": 10},
        versioned=True,
    ),
    Endpoint(
        "tenant-disable.post",
        "post",
        lambda w, r: f"{T}/disable/",
        "tenant.disable",
        200,
        body=lambda w: {"reason": "unpaid"},
        versioned=True,
    ),
    Endpoint("tenant-enable.post", "post", lambda w, r: f"{T}/enable/", "tenant.disable", 200, versioned=True),
    Endpoint("workspace-list.get", "get", lambda w, r: f"{T}/workspaces/", "workspace.read", 200),
    Endpoint(
        "workspace-list.post",
        "post",
        lambda w, r: f"{T}/workspaces/",
        "workspace.create",
        201,
        body=lambda w: {"name": "Reporting", "slug": "reporting"},
    ),
    Endpoint(
        "workspace-detail.get",
        "get",
        lambda w, r: f"{T}/workspaces/etl/",
        "workspace.read",
        200,
        cross_tenant_path=lambda w: f"{T}/workspaces/beta-ws/",
    ),
    Endpoint("member-list.get", "get", lambda w, r: f"{T}/members/", "member.read", 200),
    Endpoint(
        "member-list.post",
        "post",
        lambda w, r: f"{T}/members/",
        "member.manage",
        201,
        body=lambda w: {"username": "outsider", "role": "viewer"},
    ),
    Endpoint(
        "member-detail.get",
        "get",
        lambda w, r: f"{T}/members/{w.objects['acme_member']}/",
        "member.read",
        200,
        cross_tenant_path=lambda w: f"{T}/members/{w.objects['beta_member']}/",
    ),
    Endpoint(
        "member-detail.patch",
        "patch",
        lambda w, r: f"{T}/members/{w.objects['acme_member']}/",
        "member.manage",
        200,
        body=lambda w: {"role": "operator"},
        versioned=True,
        cross_tenant_path=lambda w: f"{T}/members/{w.objects['beta_member']}/",
    ),
    Endpoint(
        "member-detail.delete",
        "delete",
        lambda w, r: f"{T}/members/{w.objects['acme_member']}/",
        "member.manage",
        204,
        versioned=True,
        cross_tenant_path=lambda w: f"{T}/members/{w.objects['beta_member']}/",
    ),
    Endpoint("object-grant-list.get", "get", lambda w, r: f"{T}/object-grants/", "member.read", 200),
    Endpoint(
        "object-grant-list.post",
        "post",
        lambda w, r: f"{T}/object-grants/",
        "member.manage",
        201,
        body=lambda w: {
            "username": "viewer-user",
            "kind": "cluster",
            "object": w.objects["acme_cluster"],
            "role": "operator",
        },
    ),
    Endpoint(
        "object-grant-detail.get",
        "get",
        lambda w, r: f"{T}/object-grants/{w.objects['acme_object_grant']}/",
        "member.read",
        200,
        cross_tenant_path=lambda w: f"{T}/object-grants/{w.objects['beta_object_grant']}/",
    ),
    Endpoint(
        "object-grant-detail.delete",
        "delete",
        lambda w, r: f"{T}/object-grants/{w.objects['acme_object_grant']}/",
        "member.manage",
        204,
        cross_tenant_path=lambda w: f"{T}/object-grants/{w.objects['beta_object_grant']}/",
    ),
    Endpoint("token-list.get", "get", lambda w, r: f"{T}/tokens/", None, 200),
    Endpoint("token-list.post", "post", lambda w, r: f"{T}/tokens/", None, 201, body=lambda w: {"name": "ci"}),
    Endpoint(
        "token-detail.get",
        "get",
        lambda w, r: f"{T}/tokens/{_own_token(w, r)}/",
        None,
        200,
        cross_tenant_path=lambda w: f"{T}/tokens/{w.objects['beta_token']}/",
    ),
    Endpoint(
        "token-detail.delete",
        "delete",
        lambda w, r: f"{T}/tokens/{_own_token(w, r)}/",
        None,
        204,
        versioned=True,
        cross_tenant_path=lambda w: f"{T}/tokens/{w.objects['beta_token']}/",
    ),
    Endpoint("invitation-list.get", "get", lambda w, r: f"{T}/invitations/", "member.read", 200),
    Endpoint(
        "invitation-list.post",
        "post",
        lambda w, r: f"{T}/invitations/",
        "member.manage",
        201,
        body=lambda w: {"username": "newcomer", "role": "operator", "workspace": "etl"},
    ),
    Endpoint(
        "invitation-detail.get",
        "get",
        lambda w, r: f"{T}/invitations/{w.objects['acme_invitation']}/",
        "member.read",
        200,
        cross_tenant_path=lambda w: f"{T}/invitations/{w.objects['beta_invitation']}/",
    ),
    Endpoint(
        "invitation-detail.delete",
        "delete",
        lambda w, r: f"{T}/invitations/{w.objects['acme_invitation']}/",
        "member.manage",
        204,
        versioned=True,
        cross_tenant_path=lambda w: f"{T}/invitations/{w.objects['beta_invitation']}/",
    ),
    Endpoint("secret-list.get", "get", lambda w, r: f"{W}/secrets/", "secret.read", 200),
    Endpoint(
        "secret-list.post",
        "post",
        lambda w, r: f"{W}/secrets/",
        "secret.create",
        201,
        body=lambda w: {"name": "api-key", "value": "v-123"},
    ),
    Endpoint(
        "secret-detail.get",
        "get",
        lambda w, r: _secret(w),
        "secret.read",
        200,
        cross_tenant_path=lambda w: _secret(w, "beta_secret"),
    ),
    Endpoint(
        "secret-detail.put",
        "put",
        lambda w, r: _secret(w),
        "secret.update",
        200,
        body=lambda w: {"value": "rotated"},
        versioned=True,
        cross_tenant_path=lambda w: _secret(w, "beta_secret"),
    ),
    Endpoint(
        "secret-detail.delete",
        "delete",
        lambda w, r: _secret(w),
        "secret.delete",
        204,
        versioned=True,
        cross_tenant_path=lambda w: _secret(w, "beta_secret"),
    ),
    Endpoint(
        "secret-reveal.post",
        "post",
        lambda w, r: f"{_secret(w)}reveal/",
        "secret.reveal",
        200,
        cross_tenant_path=lambda w: f"{_secret(w, 'beta_secret')}reveal/",
    ),
    Endpoint("cluster-list.get", "get", lambda w, r: f"{W}/clusters/", "cluster.read", 200),
    Endpoint(
        "cluster-list.post",
        "post",
        lambda w, r: f"{W}/clusters/",
        "cluster.create",
        201,
        body=lambda w: {"name": "second", "form": "compose", "endpoints": [w.objects["zeta_url"]]},
    ),
    Endpoint(
        "cluster-detail.get",
        "get",
        lambda w, r: _cluster(w),
        "cluster.read",
        200,
        cross_tenant_path=lambda w: _cluster(w, "beta_cluster"),
    ),
    Endpoint(
        "cluster-detail.patch",
        "patch",
        lambda w, r: _cluster(w),
        "cluster.update",
        200,
        body=lambda w: {"name": "renamed", "labels": {"env": "prod"}},
        versioned=True,
        cross_tenant_path=lambda w: _cluster(w, "beta_cluster"),
    ),
    Endpoint(
        "cluster-detail.delete",
        "delete",
        lambda w, r: _cluster(w),
        "cluster.delete",
        204,
        versioned=True,
        cross_tenant_path=lambda w: _cluster(w, "beta_cluster"),
    ),
    Endpoint(
        "cluster-test.post",
        "post",
        lambda w, r: f"{_cluster(w)}test/",
        "cluster.read",
        200,
        cross_tenant_path=lambda w: f"{_cluster(w, 'beta_cluster')}test/",
    ),
    Endpoint(
        "cluster-health.get",
        "get",
        lambda w, r: f"{_cluster(w)}health/",
        "cluster.read",
        200,
        cross_tenant_path=lambda w: f"{_cluster(w, 'beta_cluster')}health/",
    ),
    Endpoint(
        "cluster-nodes.get",
        "get",
        lambda w, r: f"{_cluster(w)}nodes/",
        "cluster.read",
        200,
        cross_tenant_path=lambda w: f"{_cluster(w, 'beta_cluster')}nodes/",
    ),
    Endpoint(
        "cluster-poll.post",
        "post",
        lambda w, r: f"{_cluster(w)}poll/",
        "cluster.read",
        200,
        cross_tenant_path=lambda w: f"{_cluster(w, 'beta_cluster')}poll/",
    ),
    Endpoint(
        "cluster-plugins.get",
        "get",
        lambda w, r: f"{_cluster(w)}plugins/",
        "cluster.read",
        200,
        cross_tenant_path=lambda w: f"{_cluster(w, 'beta_cluster')}plugins/",
    ),
    Endpoint("job-template-list.get", "get", lambda w, r: f"{W}/job-templates/", "job.read", 200),
    Endpoint(
        "job-template-render.post",
        "post",
        lambda w, r: f"{W}/job-templates/fake-to-console/render/",
        "job.create",
        200,
        body=lambda w: {"params": {"row_num": 8}, "cluster_id": w.objects["acme_cluster"]},
    ),
    Endpoint(
        "fault-match.post",
        "post",
        lambda w, r: f"{W}/faults/match/",
        "fault.read",
        200,
        body=lambda w: {"text": "java.lang.OutOfMemoryError: Metaspace"},
    ),
    Endpoint("diagnostic-archive-list.get", "get", lambda w, r: f"{W}/diagnostic-archives/", "operation.read", 200),
    Endpoint(
        "diagnostic-archive-detail.get",
        "get",
        lambda w, r: _archive(w),
        "operation.read",
        200,
        cross_tenant_path=lambda w: _archive(w, "beta"),
    ),
    Endpoint(
        "diagnostic-archive-download.get",
        "get",
        lambda w, r: f"{_archive(w)}download/",
        "diagnostics.download",
        200,
        cross_tenant_path=lambda w: f"{_archive(w, 'beta')}download/",
    ),
    Endpoint(
        "finding-list.get", "get", lambda w, r: f"{W}/findings/?fingerprint_id=worker_lost", "operation.read", 200
    ),
    Endpoint(
        "finding-detail.get",
        "get",
        lambda w, r: _finding(w),
        "operation.read",
        200,
        cross_tenant_path=lambda w: _finding(w, "beta"),
    ),
    Endpoint(
        "finding-fix-plan.post",
        "post",
        lambda w, r: f"{_finding(w)}fix-plan/",
        "operation.run",
        200,
        cross_tenant_path=lambda w: f"{_finding(w, 'beta')}fix-plan/",
    ),
    Endpoint(
        "finding-fix.post",
        "post",
        lambda w, r: f"{_finding(w)}fix/",
        "operation.run",
        202,
        body=lambda w: {"plan_hash": w.objects["acme_fix_hash"]},
        cross_tenant_path=lambda w: f"{_finding(w, 'beta')}fix/",
    ),
    Endpoint("job-list.get", "get", lambda w, r: f"{W}/jobs/", "job.read", 200),
    Endpoint(
        "job-list.post",
        "post",
        lambda w, r: f"{W}/jobs/",
        "job.create",
        201,
        body=lambda w: {"name": "another", "cluster_id": w.objects["acme_cluster"], "config": FAKE_TO_CONSOLE},
    ),
    Endpoint(
        "job-detail.get", "get", lambda w, r: _job(w), "job.read", 200, cross_tenant_path=lambda w: _job(w, "beta_job")
    ),
    Endpoint(
        "job-detail.patch",
        "patch",
        lambda w, r: _job(w),
        "job.update",
        200,
        body=lambda w: {"description": "nightly"},
        versioned=True,
        cross_tenant_path=lambda w: _job(w, "beta_job"),
    ),
    Endpoint(
        "job-detail.delete",
        "delete",
        lambda w, r: _job(w, "acme_scheduled_job"),  # a job with active runs cannot be deleted
        "job.delete",
        204,
        versioned=True,
        cross_tenant_path=lambda w: _job(w, "beta_job"),
    ),
    Endpoint(
        "job-versions.get",
        "get",
        lambda w, r: f"{_job(w)}versions/",
        "job.read",
        200,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}versions/",
    ),
    Endpoint(
        "job-versions.post",
        "post",
        lambda w, r: f"{_job(w)}versions/",
        "job.update",
        200,
        body=lambda w: {"config": FAKE_TO_CONSOLE.replace("16", "64"), "message": "bigger"},
        versioned=True,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}versions/",
    ),
    Endpoint(
        "job-version.get",
        "get",
        lambda w, r: f"{_job(w)}versions/1/",
        "job.read",
        200,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}versions/1/",
    ),
    Endpoint(
        "job-diff.get",
        "get",
        lambda w, r: f"{_job(w)}diff/",
        "job.read",
        200,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}diff/",
    ),
    Endpoint(
        "job-rollback.post",
        "post",
        lambda w, r: f"{_job(w)}rollback/",
        "job.update",
        200,
        body=lambda w: {"to_version": 1},
        versioned=True,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}rollback/",
    ),
    Endpoint(
        "job-runs.get",
        "get",
        lambda w, r: f"{_job(w)}runs/",
        "job.read",
        200,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}runs/",
    ),
    Endpoint(
        "job-runs.post",
        "post",
        lambda w, r: f"{_job(w)}runs/",
        "job.run",
        202,
        body=lambda w: {"note": "from the tests", "allow_overlap": True},
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}runs/",
    ),
    Endpoint(
        "job-schedule.get",
        "get",
        lambda w, r: f"{_job(w, 'acme_scheduled_job')}schedule/",
        "job.read",
        200,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_scheduled_job')}schedule/",
    ),
    Endpoint(
        "job-schedule.put",
        "put",
        lambda w, r: f"{_job(w)}schedule/",
        "job.update",
        200,
        body=lambda w: {"cron": "0 3 * * *", "timezone": "Asia/Shanghai"},
        versioned=True,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_job')}schedule/",
    ),
    Endpoint(
        "job-schedule.delete",
        "delete",
        lambda w, r: f"{_job(w, 'acme_scheduled_job')}schedule/",
        "job.update",
        204,
        versioned=True,
        cross_tenant_path=lambda w: f"{_job(w, 'beta_scheduled_job')}schedule/",
    ),
    Endpoint("run-list.get", "get", lambda w, r: f"{W}/runs/?state=RUNNING", "job.read", 200),
    Endpoint(
        "run-detail.get",
        "get",
        lambda w, r: _run(w, "running"),
        "job.read",
        200,
        cross_tenant_path=lambda w: _run(w, "running", "beta"),
    ),
    Endpoint(
        "run-logs.get",
        "get",
        lambda w, r: f"{_run(w, 'pending')}logs/?tail=10",
        "job.read",
        200,
        cross_tenant_path=lambda w: f"{_run(w, 'pending', 'beta')}logs/",
    ),
    *[
        Endpoint(
            f"run-{verb}.post",
            "post",
            lambda w, r, verb=verb, state=state: f"{_run(w, state)}{verb}/",
            point,
            code,
            body=(lambda w, body=body: body) if body else None,
            versioned=versioned,
            cross_tenant_path=lambda w, verb=verb, state=state: f"{_run(w, state, 'beta')}{verb}/",
        )
        for verb, state, point, code, body, versioned in (
            ("stop", "running", "job.stop", 202, {"savepoint": False}, True),
            ("pause", "running", "job.stop", 202, None, True),
            ("resume", "paused", "job.run", 202, None, True),
            ("cancel", "pending", "job.stop", 200, None, True),
            ("retry", "failed", "job.run", 202, {"note": "again", "allow_overlap": True}, False),
            ("reproduce", "failed", "job.run", 202, {"allow_overlap": True}, False),
            ("resolve", "unknown", "job.run", 200, {"state": "FAILED", "reason": "the engine log says so"}, True),
        )
    ],
    Endpoint("agent-token-list.get", "get", lambda w, r: f"{W}/agent-bootstrap-tokens/", "cluster.update", 200),
    Endpoint(
        "agent-token-list.post",
        "post",
        lambda w, r: f"{W}/agent-bootstrap-tokens/",
        "cluster.update",
        201,
        body=lambda w: {"expires_in_seconds": 600, "description": "rack 4"},
    ),
    Endpoint(
        "agent-token-revoke.post",
        "post",
        lambda w, r: f"{W}/agent-bootstrap-tokens/{w.objects['acme_agent_token']}/revoke/",
        "cluster.update",
        200,
        versioned=True,
        cross_tenant_path=lambda w: f"{W}/agent-bootstrap-tokens/{w.objects['beta_agent_token']}/revoke/",
    ),
    Endpoint("agent-list.get", "get", lambda w, r: f"{W}/agents/?status=online", "cluster.read", 200),
    Endpoint(
        "agent-detail.get",
        "get",
        lambda w, r: _agent(w),
        "cluster.read",
        200,
        cross_tenant_path=lambda w: _agent(w, "beta"),
    ),
    Endpoint(
        "agent-revoke.post",
        "post",
        lambda w, r: f"{_agent(w)}revoke/",
        "cluster.update",
        200,
        body=lambda w: {"reason": "decommissioned"},
        versioned=True,
        cross_tenant_path=lambda w: f"{_agent(w, 'beta')}revoke/",
    ),
    Endpoint(
        "agent-actions.get",
        "get",
        lambda w, r: f"{_agent(w)}actions/",
        "cluster.read",
        200,
        cross_tenant_path=lambda w: f"{_agent(w, 'beta')}actions/",
    ),
    Endpoint(
        "agent-actions.post",
        "post",
        lambda w, r: f"{_agent(w)}actions/",
        "operation.run",
        201,
        body=lambda w: {"type": "log.tail", "params": {"file": "seatunnel-engine-server.log", "lines": 50}},
        cross_tenant_path=lambda w: f"{_agent(w, 'beta')}actions/",
    ),
    Endpoint("agent-action-list.get", "get", lambda w, r: f"{W}/agent-actions/?state=PENDING", "cluster.read", 200),
    Endpoint(
        "agent-action-detail.get",
        "get",
        lambda w, r: _agent_action(w),
        "cluster.read",
        200,
        cross_tenant_path=lambda w: _agent_action(w, "beta"),
    ),
    Endpoint(
        "agent-action-cancel.post",
        "post",
        lambda w, r: f"{_agent_action(w)}cancel/",
        "operation.cancel",
        200,
        versioned=True,
        cross_tenant_path=lambda w: f"{_agent_action(w, 'beta')}cancel/",
    ),
    Endpoint("operation-list.get", "get", lambda w, r: f"{W}/operations/?state=PENDING", "operation.read", 200),
    Endpoint(
        "operation-list.post", "post", lambda w, r: f"{W}/operations/", "operation.run", 202, body=_operation_body
    ),
    Endpoint(
        "operation-plan.post", "post", lambda w, r: f"{W}/operations/plan/", "operation.run", 200, body=_operation_body
    ),
    Endpoint(
        "operation-detail.get",
        "get",
        lambda w, r: _operation(w),
        "operation.read",
        200,
        cross_tenant_path=lambda w: _operation(w, "beta_operation"),
    ),
    Endpoint(
        "operation-cancel.post",
        "post",
        lambda w, r: f"{_operation(w)}cancel/",
        "operation.cancel",
        202,
        body=lambda w: {"reason": "change window closed"},
        versioned=True,
        cross_tenant_path=lambda w: f"{_operation(w, 'beta_operation')}cancel/",
    ),
    Endpoint("alert-rule-list.get", "get", lambda w, r: f"{W}/alert-rules/", "alert.read", 200),
    Endpoint(
        "alert-rule-list.post",
        "post",
        lambda w, r: f"{W}/alert-rules/",
        "alert.manage",
        201,
        body=lambda w: {"name": "stuck submitting", "kind": "run_stuck", "params": {"seconds": 600}},
    ),
    Endpoint(
        "alert-rule-detail.get",
        "get",
        lambda w, r: _alert_rule(w),
        "alert.read",
        200,
        cross_tenant_path=lambda w: _alert_rule(w, "beta"),
    ),
    Endpoint(
        "alert-rule-detail.patch",
        "patch",
        lambda w, r: _alert_rule(w),
        "alert.manage",
        200,
        body=lambda w: {"severity": "info", "enabled": False},
        versioned=True,
        cross_tenant_path=lambda w: _alert_rule(w, "beta"),
    ),
    Endpoint(
        "alert-rule-detail.delete",
        "delete",
        lambda w, r: _alert_rule(w),
        "alert.manage",
        204,
        versioned=True,
        cross_tenant_path=lambda w: _alert_rule(w, "beta"),
    ),
    Endpoint("alert-list.get", "get", lambda w, r: f"{W}/alerts/?state=firing&severity=critical", "alert.read", 200),
    Endpoint(
        "alert-detail.get",
        "get",
        lambda w, r: _alert(w),
        "alert.read",
        200,
        cross_tenant_path=lambda w: _alert(w, "beta"),
    ),
    Endpoint(
        "alert-acknowledge.post",
        "post",
        lambda w, r: f"{_alert(w)}acknowledge/",
        "alert.manage",
        200,
        body=lambda w: {"comment": "looking into it"},
        versioned=True,
        cross_tenant_path=lambda w: f"{_alert(w, 'beta')}acknowledge/",
    ),
    Endpoint(
        "alert-receiver.post",
        "post",
        lambda w, r: f"{W}/alerts/receiver/alertmanager/",
        "alert.manage",
        200,
        body=lambda w: alertmanager_body(alertname="SeaTunnelHeapHigh"),
    ),
    Endpoint("silence-list.get", "get", lambda w, r: f"{W}/silences/?status=active", "alert.read", 200),
    Endpoint(
        "silence-list.post",
        "post",
        lambda w, r: f"{W}/silences/",
        "alert.manage",
        201,
        body=lambda w: {
            "matchers": [{"name": "cluster", "op": "=", "value": "zeta"}],
            "ends_at": (timezone.now() + timedelta(days=30)).isoformat(),
            "reason": "upgrade window",
        },
    ),
    Endpoint(
        "silence-detail.get",
        "get",
        lambda w, r: _silence(w),
        "alert.read",
        200,
        cross_tenant_path=lambda w: _silence(w, "beta"),
    ),
    Endpoint(
        "silence-detail.delete",
        "delete",
        lambda w, r: _silence(w),
        "alert.manage",
        204,
        versioned=True,
        cross_tenant_path=lambda w: _silence(w, "beta"),
    ),
    Endpoint(
        "silence-end.post",
        "post",
        lambda w, r: f"{_silence(w)}end/",
        "alert.manage",
        200,
        versioned=True,
        cross_tenant_path=lambda w: f"{_silence(w, 'beta')}end/",
    ),
    Endpoint("audit-list.get", "get", lambda w, r: f"{T}/audit/", "audit.read", 200),
    Endpoint("audit-export.get", "get", lambda w, r: f"{T}/audit/export/?format=jsonl", "audit.export", 200),
    Endpoint("notification-channel-list.get", "get", lambda w, r: f"{W}/notification-channels/", "alert.read", 200),
    Endpoint(
        "notification-channel-list.post",
        "post",
        lambda w, r: f"{W}/notification-channels/",
        "alert.manage",
        201,
        body=lambda w: {
            "name": "new hook",
            "kind": "webhook",
            "webhook_url": "http://127.0.0.1:9/h",
            "signing_secret": "k",
        },
    ),
    Endpoint(
        "notification-channel-detail.get",
        "get",
        lambda w, r: _channel(w),
        "alert.read",
        200,
        cross_tenant_path=lambda w: _channel(w, "beta_channel"),
    ),
    Endpoint(
        "notification-channel-detail.patch",
        "patch",
        lambda w, r: _channel(w),
        "alert.manage",
        200,
        body=lambda w: {"language": "zh-Hans"},
        versioned=True,
        cross_tenant_path=lambda w: _channel(w, "beta_channel"),
    ),
    Endpoint(
        "notification-channel-detail.delete",
        "delete",
        lambda w, r: _channel(w),
        "alert.manage",
        204,
        versioned=True,
        cross_tenant_path=lambda w: _channel(w, "beta_channel"),
    ),
    Endpoint(
        "notification-channel-disable.post",
        "post",
        lambda w, r: f"{_channel(w)}disable/",
        "alert.manage",
        200,
        body=lambda w: {"reason": "maintenance"},
        versioned=True,
        cross_tenant_path=lambda w: f"{_channel(w, 'beta_channel')}disable/",
    ),
    Endpoint(
        "notification-channel-enable.post",
        "post",
        lambda w, r: f"{_channel(w, 'acme_disabled_channel')}enable/",
        "alert.manage",
        200,
        versioned=True,
        cross_tenant_path=lambda w: f"{_channel(w, 'beta_disabled_channel')}enable/",
    ),
    Endpoint(
        "notification-channel-test.post",
        "post",
        lambda w, r: f"{_channel(w)}test/",
        "alert.manage",
        202,
        cross_tenant_path=lambda w: f"{_channel(w, 'beta_channel')}test/",
    ),
    Endpoint("notification-delivery-list.get", "get", lambda w, r: f"{W}/notification-deliveries/", "alert.read", 200),
    Endpoint(
        "notification-delivery-detail.get",
        "get",
        lambda w, r: _delivery(w),
        "alert.read",
        200,
        cross_tenant_path=lambda w: _delivery(w, "beta_delivery"),
    ),
    Endpoint(
        "notification-delivery-redeliver.post",
        "post",
        lambda w, r: f"{_delivery(w)}redeliver/",
        "alert.manage",
        202,
        cross_tenant_path=lambda w: f"{_delivery(w, 'beta_delivery')}redeliver/",
    ),
]

# Endpoints outside a tenant path, tested by hand in test_auth.py, test_tenants.py and tests/iam/; each is
# classified below (tests/iam/test_token_scope.py checks that every one is).
UNSCOPED = {
    "auth-token",
    "auth-refresh",
    "auth-logout",
    "auth-me",
    "auth-sessions",
    "auth-sessions-revoke-all",
    "auth-session-detail",
    "tenant-list",
    "platform-audit-list",
    "platform-audit-export",
    "platform-token-list",
    "platform-token-detail",
    "user-list",
    "invitation-accept",
    "catalog-detail",
}


@dataclass(frozen=True)
class PlatformEndpoint:
    name: str
    method: str
    path: Callable[[World], str]
    ok: int
    body: Callable[[World], dict] | None = None


# Platform-wide powers: a platform administrator signed in, or with a platform token; never a tenant token.
PLATFORM: list[PlatformEndpoint] = [
    PlatformEndpoint(
        "tenant-list.post", "post", lambda w: "/api/v1/tenants/", 201, lambda w: {"name": "G", "slug": "g"}
    ),
    PlatformEndpoint("platform-audit-list.get", "get", lambda w: f"/api/v1/audit/?tenant={w.beta.id}", 200),
    PlatformEndpoint("platform-audit-export.get", "get", lambda w: "/api/v1/audit/export/?format=csv", 200),
    PlatformEndpoint("platform-token-list.get", "get", lambda w: "/api/v1/platform-tokens/", 200),
    PlatformEndpoint(
        "platform-token-list.post", "post", lambda w: "/api/v1/platform-tokens/", 201, lambda w: {"name": "p"}
    ),
    PlatformEndpoint(
        "platform-token-detail.get", "get", lambda w: f"/api/v1/platform-tokens/{w.objects['platform_token']}/", 200
    ),
    PlatformEndpoint(
        "platform-token-detail.delete",
        "delete",
        lambda w: f"/api/v1/platform-tokens/{w.objects['platform_token']}/",
        204,
    ),
    PlatformEndpoint("user-list.get", "get", lambda w: "/api/v1/users/", 200),
    PlatformEndpoint("user-list.post", "post", lambda w: "/api/v1/users/", 201, lambda w: {"username": "newbie"}),
]
# Any signed-in user, about themselves or public reference data (a tenant token sees only its tenant in the list).
PERSONAL = {
    "auth-me.get",
    "auth-sessions.get",
    "auth-sessions-revoke-all.post",
    "auth-session-detail.delete",
    "tenant-list.get",
    "catalog-detail.get",
}
# No credential: logging in, refreshing, logging out, accepting an invitation.
ANONYMOUS = {"auth-token.post", "auth-refresh.post", "auth-logout.post", "invitation-accept.post"}
