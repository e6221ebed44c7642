"""The browser tests' window into their control plane, run as ``python -m tests.console.browser.probe <command>``
in the control plane's own environment (its private database and data directory), never in the pytest process.

- ``setup <zeta url> <password>``: migrate; tenant ``acme`` with workspace ``etl``; users ``operator``,
  ``viewer`` and ``owner`` holding those roles with that password; the cluster ``zeta`` at the emulator; the batch
  job ``fake-to-console`` and the streaming job ``stream`` on it. Prints ``{"job_id": ..., "stream_id": ...}``.
- ``runs <job id>``: the job's runs, newest first, ``[{"id", "state"}]``.
- ``alert``: fires the alert ``NodeDown`` in ``acme``/``etl`` through the alerts writer (as the evaluator would) and
  creates the webhook channel ``ops hook``; prints ``{"alert": <fingerprint>, "channel": <id>}``.
- ``fire <alert name>``: fires a warning alert of that name in ``acme``/``etl``; its fingerprint.
- ``alert-state <fingerprint>``: ``{"status", "acknowledged", "acknowledged_by", "comment"}``.
- ``node-cluster <member url>``: the cluster ``nodes`` at that member, and a bootstrap token for its agent:
  ``{"cluster_id", "token"}``.
- ``agents <cluster id>``: its agents, ``[{"id", "status", "member_address"}]``.
- ``act <agent id> <action type>``: ask the agent for a catalog action (as the system); its id.
- ``action <action id>``: ``{"state", "result"}`` of an agent action.
- ``operation-state <operation id>``: ``{"state", "steps": {key: state}}``.
- ``diagnosis <cluster id>``: a diagnostic bundle with one finding recorded on the cluster, as the API tests' world
  records one: ``{"archive_id", "finding_id"}``.
"""

from __future__ import annotations

import json
import os
import sys

CONFIG = """
env { parallelism = 1, job.mode = "BATCH" }
source { FakeSource { plugin_output = "fake", row.num = 16, schema = { fields { name = "string", age = "int" } } } }
sink { Console { plugin_input = "fake" } }
"""
STREAMING = """
env { job.mode = "STREAMING", parallelism = 1, checkpoint.interval = 1000 }
source { FakeSource { plugin_output = "rows", row.num = 10000000, split.read-interval = 10,
  schema = { fields { id = "bigint", note = "string" } } } }
sink { Console { plugin_input = "rows" } }
"""


def _setup(zeta_url: str, password: str) -> dict:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from controlplane.clusters.actions import do_register_cluster
    from controlplane.eventlog.metadata import Metadata
    from controlplane.iam import actions as iam
    from controlplane.jobs.actions import do_create_job
    from controlplane.tenancy import actions as tenancy
    from controlplane.tenancy.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    boot = Metadata.for_system(None, reason="console browser test setup")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    for role in ("operator", "viewer", "owner"):
        user = User.objects.create_user(role, password=password)
        iam.do_grant_role(user=user, tenant=Tenant.objects.get(id=tenant_id), role=role, metadata=boot)
    place = Metadata.for_system(tenant_id, workspace_id=workspace_id, reason="console browser test setup")
    cluster_id = do_register_cluster(
        metadata=place,
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[zeta_url],
    )
    jobs = {
        name: do_create_job(
            metadata=place,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=name,
            cluster_id=cluster_id,
            config=config,
        )
        for name, config in (("fake-to-console", CONFIG), ("stream", STREAMING))
    }
    return {"job_id": jobs["fake-to-console"], "stream_id": jobs["stream"]}


def _alert() -> dict:
    from controlplane.eventlog.metadata import Metadata
    from controlplane.notifications.actions import do_create_channel
    from controlplane.tenancy.models import Workspace
    from tests.console.alerting import fire

    workspace = Workspace.objects.get(slug="etl", tenant__slug="acme")
    labels = {"alertname": "NodeDown", "cluster": "zeta", "node": "10.0.0.5:5801", "severity": "critical"}
    fp = fire(workspace.tenant_id, workspace.id, labels, "node 10.0.0.5:5801 left the cluster")
    channel = do_create_channel(
        metadata=Metadata.for_system(workspace.tenant_id, workspace_id=workspace.id, reason="console browser test"),
        tenant_id=workspace.tenant_id,
        workspace_id=workspace.id,
        name="ops hook",
        kind="webhook",
        webhook_url="http://127.0.0.1:9/hook",
        signing_secret="browser-signing-secret",
    )
    return {"alert": fp, "channel": channel}


def _fire(name: str) -> str:
    from controlplane.tenancy.models import Workspace
    from tests.console.alerting import fire

    workspace = Workspace.objects.get(slug="etl", tenant__slug="acme")
    labels = {"alertname": name, "cluster": "zeta", "severity": "warning"}
    return fire(workspace.tenant_id, workspace.id, labels, f"{name} fired while the list was open")


def _alert_state(fp: str) -> dict:
    from controlplane.alerts.models import Alert

    alert = Alert.unscoped.get(id=fp)
    return {
        "status": alert.status,
        "acknowledged": alert.acknowledged,
        "acknowledged_by": alert.acknowledged_by,
        "comment": alert.acknowledge_comment,
    }


def _runs(job_id: str) -> list[dict]:
    from controlplane.jobs.models import Run

    return [{"id": r.id, "state": r.state} for r in Run.unscoped.filter(job_id=job_id).order_by("-created_at")]


def _place(cluster_id: str):  # type: ignore[no-untyped-def]
    from controlplane.clusters.models import Cluster
    from controlplane.eventlog.metadata import Metadata

    cluster = Cluster.unscoped.get(id=cluster_id)
    return cluster, Metadata.for_system(cluster.tenant_id, workspace_id=cluster.workspace_id, reason="browser test")


def _node_cluster(member_url: str) -> dict:
    from controlplane.agents.actions import do_issue_bootstrap_token
    from controlplane.clusters.actions import do_register_cluster
    from controlplane.clusters.models import Cluster
    from controlplane.eventlog.metadata import Metadata

    zeta = Cluster.unscoped.get(name="zeta")
    place = Metadata.for_system(zeta.tenant_id, workspace_id=zeta.workspace_id, reason="browser test")
    where = {"tenant_id": zeta.tenant_id, "workspace_id": zeta.workspace_id}
    cluster_id = do_register_cluster(
        metadata=place, **where, name="nodes", form="bare_metal", mode="hybrid", endpoints=[member_url]
    )
    _, token = do_issue_bootstrap_token(metadata=place, **where, cluster_id=cluster_id)
    return {"cluster_id": cluster_id, "token": token}


def _agents(cluster_id: str) -> list[dict]:
    from controlplane.agents.models import Agent

    rows = Agent.unscoped.filter(cluster_id=cluster_id)
    return [{"id": a.id, "status": a.status, "member_address": a.member_address} for a in rows]


def _act(agent_id: str, action_type: str) -> str:
    from controlplane.agents.actions import do_request_action
    from controlplane.agents.models import Agent

    agent = Agent.unscoped.get(id=agent_id)
    _, meta = _place(agent.cluster_id)
    return do_request_action(
        metadata=meta, agent_id=agent_id, action_type=action_type, params={"timeout_seconds": 60}, key=action_type
    )


def _action(action_id: str) -> dict:
    from controlplane.agents.models import Action

    action = Action.unscoped.get(id=action_id)
    return {"state": action.state, "result": action.result}


def _operation_state(operation_id: str) -> dict:
    from controlplane.operations.models import Operation, OperationStep

    steps = OperationStep.unscoped.filter(operation_id=operation_id).order_by("index")
    return {"state": Operation.unscoped.get(id=operation_id).state, "steps": {s.key: s.state for s in steps}}


def _diagnosis(cluster_id: str) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from tests.api.world import record_diagnosis

    cluster, meta = _place(cluster_id)
    finding = record_diagnosis(meta, cluster, timezone.now() + timedelta(days=1))
    return {"archive_id": finding.archive_id, "finding_id": finding.id}


COMMANDS = {
    "setup": _setup,
    "runs": _runs,
    "alert": _alert,
    "fire": _fire,
    "alert-state": _alert_state,
    "node-cluster": _node_cluster,
    "agents": _agents,
    "act": _act,
    "action": _action,
    "operation-state": _operation_state,
    "diagnosis": _diagnosis,
}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    import django

    django.setup()
    command, *args = argv
    result = COMMANDS[command](*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
