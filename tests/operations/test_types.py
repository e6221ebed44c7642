"""The operation types with the agents' real dispatch (agents simulated through the agent-side functions) and
real runs on the Zeta emulator (the jobs worker's functions called in place of its Celery tasks)."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from controlplane.agents.actions import expire_actions
from controlplane.agents.models import Action
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs import runner as jobs_runner
from controlplane.jobs.models import Job, JobVersion, Run
from controlplane.operations import actions, runner
from controlplane.operations.domain.states import TERMINAL
from controlplane.operations.models import Operation, OperationStep
from tests.operations.agent_sim import SimAgent, register_agent, succeed
from tests.operations.conftest import person
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

MEMBER = "127.0.0.1:5801"  # the emulator's one member, as /system-monitoring-information lists it
STREAMING = """
env { job.mode = "STREAMING", parallelism = 1, checkpoint.interval = 1000 }
source { FakeSource { plugin_output = "events", row.num = 1000000, split.read-interval = 10,
  schema = { fields { id = "bigint", name = "string" } } } }
sink { Console { plugin_input = "events" } }
"""


def _as_worker(run: Run, task: str) -> Metadata:
    """What the jobs task would act as: the control plane, in the run's tenant and workspace."""
    return Metadata.for_system(run.tenant_id, reason=task, workspace_id=run.workspace_id)


def _as_tests(place) -> Metadata:  # type: ignore[no-untyped-def]
    """For the jobs writers the tests call to set the scene (not about who acts): the control plane itself."""
    return Metadata.for_system(place.tenant_id, reason="tests", workspace_id=place.workspace_id)


def stop_on_engine(run_id: str) -> None:
    run = Run.unscoped.get(id=run_id)
    jobs_runner.stop(run, metadata=_as_worker(run, "jobs.stop_run"))


def submit_to_engine(run_id: str, attempts: int) -> None:
    run = Run.unscoped.get(id=run_id)
    jobs_runner.submit(run, attempts, metadata=_as_worker(run, "jobs.submit_run"))


class RunWorker:
    """Plays the jobs worker and the sync loop for one cluster: sends the stops and resumes the run actions
    queued (as ``jobs.stop_run`` / ``jobs.submit_run`` would) and polls the emulator (as ``jobs.sync_runs``)."""

    def __init__(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.stopped: set[str] = set()
        self.resumed: set[tuple[str, int]] = set()

    def pump(self) -> None:
        for run in Run.unscoped.filter(cluster_id=self.cluster_id):
            if run.state == "STOPPING" and run.id not in self.stopped:
                stop_on_engine(run.id)
                self.stopped.add(run.id)
            asked = Event.objects.filter(
                event_type="operations.step_progressed", payload__contains=f'"resumed_run":"{run.id}"'
            ).count()
            if run.state == "PAUSED" and (run.id, asked) not in self.resumed and asked:
                submit_to_engine(run.id, run.attempts)
                self.resumed.add((run.id, asked))
                self.stopped.discard(run.id)
        jobs_runner.sync_cluster(self.cluster_id)


def start_stream(place, on=None) -> str:  # type: ignore[no-untyped-def]
    """A streaming run RUNNING on the emulator of ``place.cluster`` (or of ``on``: a 3.x cluster, which has no
    connector catalog yet to validate a job against, so the job is made on the 2.3 one and run there)."""
    job_id = jobs.do_create_job(
        metadata=_as_tests(place),
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name=f"stream-{time.monotonic_ns()}",
        cluster_id=place.cluster.id,
        config=STREAMING,
    )
    job = Job.unscoped.get(id=job_id)
    if on is None:
        run_id = run_actions.do_start_run(metadata=_as_tests(place), job=job)
    else:
        version = JobVersion.unscoped.get(job_id=job_id, version=job.current_version)
        manifest = run_actions.build_manifest(job, version, on, _as_tests(place), "on the 3.x cluster")
        run_id = run_actions._request(metadata=_as_tests(place), job=job, manifest=manifest, reason="manual")
    submit_to_engine(run_id, 0)

    def running() -> bool:
        if Run.unscoped.get(id=run_id).state == "RUNNING":
            return True
        jobs_runner.sync_cluster((on or place.cluster).id)
        return False

    wait_until(running, interval=0.1, message=lambda: f"the run RUNNING, it is {Run.unscoped.get(id=run_id).state}")
    return run_id


def drive(op_id: str, agents: list[SimAgent], outcome=succeed, runs: RunWorker | None = None, seconds: float = 60):  # type: ignore[no-untyped-def]
    def finished() -> Operation | None:
        """One round of the world (the runner, the agents, the run worker); the operation once it ended."""
        runner.advance(op_id)
        for agent in agents:
            agent.serve(outcome)
        if runs is not None:
            runs.pump()
        op = Operation.unscoped.get(id=op_id)
        return op if op.state in {str(s) for s in TERMINAL} else None

    return wait_until(
        finished,
        timeout=seconds,
        interval=0.02,
        message=lambda: f"the operation to end, it is {Operation.unscoped.get(id=op_id).state}: {steps(op_id)}",
    )


def steps(op_id: str) -> dict[str, str]:
    return {s.key: s.state for s in OperationStep.unscoped.filter(operation_id=op_id)}


def request(place, type_name: str, meta=None, **params) -> str:  # type: ignore[no-untyped-def]
    return actions.do_request_operation(
        metadata=meta or place.meta, cluster=place.cluster, type=type_name, params=params
    )


def test_rolling_restart_pauses_streaming_runs_restarts_the_node_waits_for_it_and_resumes(place):
    node = register_agent(place.meta, place.cluster, "node-1", MEMBER)
    stream = start_stream(place)
    engine_job = Run.unscoped.get(id=stream).engine_job_id
    op_id = request(place, "rolling_restart", meta=person(place, "ops"), batch_size=1)
    op = drive(op_id, [node], runs=RunWorker(place.cluster.id))
    assert op.state == "SUCCEEDED", (op.error_code, op.error, steps(op_id))
    assert list(steps(op_id)) == [
        "pause-streaming-runs",
        "b1.restart",
        "b1.health",
        "b1.rejoin",
        "resume-streaming-runs",
    ]
    assert [a["type"] for a in node.seen] == ["service.restart", "health.check"]
    assert node.seen[0]["params"] == {"timeout_seconds": 300}
    run = Run.unscoped.get(id=stream)
    assert run.state in ("RUNNING", "SUBMITTING") and run.acknowledged and run.engine_job_id == engine_job
    # the run was paused with a savepoint before the restart and resumed from it after
    states = [
        json.loads(e.payload)["state"]
        for e in Event.objects.filter(stream_id=f"run-{stream}", event_type="jobs.run_state_changed").order_by(
            "version"
        )
    ]
    assert "PAUSED" in states
    pause = OperationStep.unscoped.get(operation_id=op_id, key="pause-streaming-runs")
    assert pause.result == {"paused": [stream]}
    resume = OperationStep.unscoped.get(operation_id=op_id, key="resume-streaming-runs")
    assert resume.result == {"resumed": [stream], "not_running": {}}
    restart = OperationStep.unscoped.get(operation_id=op_id, key="b1.restart")
    assert restart.targets[0]["agent_id"] == node.id and restart.targets[0]["address"] == MEMBER
    assert restart.result["targets"][node.id]["state"] == "SUCCEEDED"
    # every action is asked by the runner on behalf of who asked for the operation (the system, naming that person
    # in its reason), and carries the operation and the step it belongs to
    requested = Event.objects.filter(event_type="agents.action_requested").values_list("actor_kind", "actor_id")
    assert set(requested) == {("system", "operations.step:user:ops")}
    assert set(Action.unscoped.values_list("operation_id", "step_key")) == {
        (op_id, "b1.restart"),
        (op_id, "b1.health"),
    }
    run_actions.do_stop_run(metadata=_as_tests(place), run=run)  # leave the emulator quiet
    stop_on_engine(stream)


def test_a_failed_restart_rolls_back_by_resuming_the_paused_runs(place):
    node = register_agent(place.meta, place.cluster, "node-1", MEMBER)
    stream = start_stream(place)

    def restart_fails(action: dict) -> tuple[str, dict, str]:
        if action["type"] == "service.restart":
            return "failed", {}, "SERVICE_RESTART_FAILED"
        return succeed(action)

    op_id = request(place, "rolling_restart")
    op = drive(op_id, [node], outcome=restart_fails, runs=RunWorker(place.cluster.id))
    assert op.state == "ROLLED_BACK" and op.error_code == "SERVICE_RESTART_FAILED" and op.failed_step == "b1.restart"
    assert steps(op_id) == {
        "pause-streaming-runs": "COMPENSATED",
        "b1.restart": "FAILED",
        "b1.health": "SKIPPED",
        "b1.rejoin": "SKIPPED",
        "resume-streaming-runs": "SKIPPED",
    }
    compensation = OperationStep.unscoped.get(operation_id=op_id, key="pause-streaming-runs").compensation_result
    assert compensation == {"resumed": [stream], "not_running": {}}
    assert Run.unscoped.get(id=stream).state in ("RUNNING", "SUBMITTING")  # never left paused
    run_actions.do_stop_run(metadata=_as_tests(place), run=Run.unscoped.get(id=stream))
    stop_on_engine(stream)


def test_collect_diagnostics_gathers_a_bundle_from_every_node_and_names_the_missing(place):
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2, 3)]

    def bundle(action: dict) -> tuple[str, dict, str]:
        if action["agent_id"] == nodes[2].id:
            return "failed", {}, "DIAGNOSTICS_DISK_FULL"
        return "succeeded", {"artifact": {"sha256": action["id"][:8], "size": 1234}}, ""

    op_id = request(place, "collect_diagnostics", since_minutes=30, include_thread_dump=False)
    op = drive(op_id, nodes, outcome=bundle)
    assert op.state == "FAILED" and op.error_code == "OPERATION_STEPS_FAILED"  # not every node gave one
    assert [a["params"] for n in nodes for a in n.seen] == [{"since_minutes": 30, "include_thread_dump": False}] * 3
    assert sorted(b["hostname"] for b in op.result["bundles"]) == ["node-1", "node-2"]
    assert all(b["artifact"]["size"] == 1234 for b in op.result["bundles"])
    assert [m["hostname"] for m in op.result["missing"]] == ["node-3"]


def test_run_action_in_batches_stops_on_the_first_failure(place):
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2, 3)]

    def second_fails(action: dict) -> tuple[str, dict, str]:
        if action["agent_id"] == nodes[1].id:
            return "failed", {}, "SERVICE_STATUS_FAILED"
        return succeed(action)

    op_id = request(place, "run_action", action="service.status", params={}, batch_size=2)
    op = drive(op_id, nodes, outcome=second_fails)
    assert op.state == "FAILED" and op.error_code == "SERVICE_STATUS_FAILED"
    assert steps(op_id) == {"a1.service.status": "FAILED", "a2.service.status": "SKIPPED"}
    assert [len(n.seen) for n in nodes] == [1, 1, 0]  # the batch ran on both its nodes at once; node-3 never


def test_run_action_that_may_continue_runs_every_batch(place):
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2)]
    op_id = request(
        place, "run_action", action="log.tail", params={"file": "engine.log", "lines": 10}, stop_on_first_failure=False
    )
    op = drive(op_id, nodes, outcome=lambda a: ("failed", {}, "LOG_MISSING"))
    assert op.state == "FAILED" and op.error_code == "OPERATION_STEPS_FAILED"
    assert [len(n.seen) for n in nodes] == [1, 1]


def test_cancel_is_forwarded_to_the_running_agent_action(place):
    node = register_agent(place.meta, place.cluster, "node-1", "10.0.0.1:5801")
    op_id = request(place, "run_action", action="diagnostics.collect", params={})
    keep_running = lambda action: (None, {}, "")  # noqa: E731
    for _ in range(3):
        runner.advance(op_id)
        node.serve(keep_running)
    assert Action.unscoped.get().state == "RUNNING"
    actions.do_cancel_operation(metadata=place.meta, operation=Operation.unscoped.get(id=op_id), reason="enough")
    op = drive(op_id, [node], outcome=keep_running)
    assert op.state == "CANCELLED"
    action = Action.unscoped.get()
    assert action.state == "CANCELLED"
    step = OperationStep.unscoped.get(operation_id=op_id)
    assert step.state == "FAILED" and step.error_code == "OPERATION_STEP_CANCELLED"


def test_an_action_that_expires_unclaimed_is_retried_under_a_new_key(place, settings):
    node = register_agent(place.meta, place.cluster, "node-1", "10.0.0.1:5801")
    op_id = request(place, "run_action", action="service.status", params={})
    runner.advance(op_id)  # the action is asked for; the agent is offline
    first = Action.unscoped.get()
    from datetime import timedelta

    from django.utils import timezone

    expire_actions(now=timezone.now() + timedelta(hours=1))
    op = drive(op_id, [node])
    assert op.state == "SUCCEEDED"
    second = Action.unscoped.exclude(id=first.id).get()
    assert Action.unscoped.get(id=first.id).state == "EXPIRED" and second.state == "SUCCEEDED"
    failed = OperationStep.unscoped.get(operation_id=op_id)
    assert failed.attempt == 2


# -- planning and the API ------------------------------------------------------------------------------------
OPERATIONS = "/api/v1/tenants/acme/workspaces/etl/operations/"


@pytest.fixture
def operator(place):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User
    from rest_framework_simplejwt.tokens import RefreshToken

    from controlplane.iam import actions as iam
    from controlplane.tenancy.models import Tenant

    def client_for(role: str) -> Client:
        user = User.objects.create_user(f"{role}-ops")
        iam.do_grant_role(
            user=user,
            tenant=Tenant.objects.get(id=place.tenant_id),
            role=role,
            metadata=Metadata.for_system(None, reason="tests"),
        )
        token = RefreshToken.for_user(user).access_token
        return Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")

    return client_for


def test_the_dry_run_shows_each_step_and_its_targets_and_writes_nothing(place, operator):
    nodes = [register_agent(place.meta, place.cluster, f"node-{n}", f"10.0.0.{n}:5801") for n in (1, 2, 3)]
    before = Event.objects.count()
    body = {
        "type": "rolling_restart",
        "cluster_id": place.cluster.id,
        "params": {"batch_size": 2, "pause_between_batches_seconds": 30},
    }
    client = operator("operator")
    for url in (f"{OPERATIONS}plan/", f"{OPERATIONS}?dry_run=true"):
        answer = client.post(url, body, content_type="application/json")
        assert answer.status_code == 200, answer.content
        plan = answer.json()
        assert plan["dry_run"] is True and plan["params"]["stop_on_first_failure"] is True
        assert [s["key"] for s in plan["steps"]] == [
            "pause-streaming-runs",
            "b1.restart",
            "b1.health",
            "b1.rejoin",
            "b1.wait",
            "b2.restart",
            "b2.health",
            "b2.rejoin",
            "resume-streaming-runs",
        ]
        restart = plan["steps"][1]
        assert restart["runs_in"] == "agent" and restart["params"]["action"] == "service.restart"
        assert [t["hostname"] for t in restart["targets"]] == ["node-1", "node-2"]
        assert [t["agent_id"] for t in plan["steps"][5]["targets"]] == [nodes[2].id]
        assert plan["steps"][0]["compensation"] == "runs.resume" and plan["notes"]
    assert Event.objects.count() - before == 0  # nothing written (audit records are not events)
    assert not Operation.unscoped.exists()


def test_a_request_naming_its_dry_runs_plan_hash_runs_only_that_plan(place, operator):
    register_agent(place.meta, place.cluster, "node-1", "10.0.0.1:5801")
    body = {"type": "rolling_restart", "cluster_id": place.cluster.id, "params": {}}
    client = operator("operator")
    shown = client.post(f"{OPERATIONS}plan/", body, content_type="application/json").json()["plan_hash"]
    register_agent(place.meta, place.cluster, "node-2", "10.0.0.2:5801")  # the plan now restarts two nodes
    changed = client.post(OPERATIONS, {**body, "plan_hash": shown}, content_type="application/json")
    error = changed.json()["error"]
    assert changed.status_code == 409 and error["code"] == "OPERATION_PLAN_CHANGED"
    assert not Operation.unscoped.exists()
    again = client.post(f"{OPERATIONS}plan/", body, content_type="application/json").json()["plan_hash"]
    assert error["details"]["plan_hash"] == again != shown
    assert client.post(OPERATIONS, {**body, "plan_hash": again}, content_type="application/json").status_code == 202


def test_request_read_and_cancel_through_the_api(place, operator):
    register_agent(place.meta, place.cluster, "node-1", "10.0.0.1:5801")
    client = operator("operator")
    body = {"type": "collect_diagnostics", "cluster_id": place.cluster.id, "params": {}}
    created = client.post(OPERATIONS, body, content_type="application/json")
    assert created.status_code == 202, created.content
    detail = created.json()
    assert detail["state"] == "PENDING" and detail["type"] == "collect_diagnostics"
    assert detail["steps"][0]["targets"][0]["hostname"] == "node-1" and detail["steps"][0]["state"] == "PENDING"
    assert created["ETag"] == f'"{detail["version"]}"'
    viewer = operator("viewer")
    listed = viewer.get(f"{OPERATIONS}?type=collect_diagnostics").json()["results"]
    assert [o["id"] for o in listed] == [detail["id"]]
    assert viewer.post(f"{OPERATIONS}{detail['id']}/cancel/").status_code == 403
    cancelled = client.post(f"{OPERATIONS}{detail['id']}/cancel/", {"reason": "wrong cluster"}, "application/json")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "CANCELLED"
    again = client.generic("POST", f"{OPERATIONS}{detail['id']}/cancel/")  # no body at all, as `curl -X POST`
    assert again.status_code == 409 and again.json()["error"]["code"] == "OPERATION_NOT_CANCELLABLE"


@pytest.mark.parametrize(
    ("type_name", "params", "code", "status"),
    [
        ("reboot_everything", {}, "OPERATION_TYPE_UNKNOWN", 400),
        ("rolling_restart", {"batch_size": 0}, "OPERATION_PARAMS_INVALID", 400),
        ("rolling_restart", {"surprise": 1}, "OPERATION_PARAMS_INVALID", 400),
        ("rolling_restart", {"nodes": ["node-9"]}, "OPERATION_NODE_UNKNOWN", 400),
        ("run_action", {"action": "shell.exec", "params": {}}, "OPERATION_ACTION_INVALID", 400),
        ("run_action", {"action": "log.tail", "params": {"lines": 10}}, "OPERATION_ACTION_INVALID", 400),
    ],
)
def test_plans_that_cannot_be_made_are_refused_with_a_code(place, operator, type_name, params, code, status):
    register_agent(place.meta, place.cluster, "node-1", "10.0.0.1:5801")
    answer = operator("operator").post(
        f"{OPERATIONS}plan/", {"type": type_name, "cluster_id": place.cluster.id, "params": params}, "application/json"
    )
    assert answer.status_code == status and answer.json()["error"]["code"] == code, answer.content


def test_a_cluster_without_agents_or_with_a_revoked_one_cannot_be_operated_on(place, operator):
    client = operator("operator")
    body = {"type": "rolling_restart", "cluster_id": place.cluster.id, "params": {}}
    answer = client.post(OPERATIONS, body, content_type="application/json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "OPERATION_NO_AGENTS"
    node = register_agent(place.meta, place.cluster, "node-1", "10.0.0.1:5801")
    from controlplane.agents.actions import do_revoke_agent

    do_revoke_agent(metadata=place.meta, agent_id=node.id, reason="decommissioned")
    answer = client.post(OPERATIONS, body, content_type="application/json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "OPERATION_AGENT_UNAVAILABLE"


# -- 3.x engines say where a job runs: runs are paused batch by batch --------------------------------------------
@pytest.fixture(scope="module")
def zeta3():
    from controlplane.seatunnel.emulator.process import emulator_process

    with emulator_process("--version", "3.0.0") as running:
        yield running


@pytest.fixture
def place3(place, zeta3):  # type: ignore[no-untyped-def]
    from controlplane.clusters import actions as clusters
    from controlplane.clusters.models import Cluster

    cluster_id = clusters.do_register_cluster(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="zeta3",
        form="bare_metal",
        mode="hybrid",
        endpoints=[zeta3.url],
    )
    place.cluster3 = Cluster.unscoped.get(id=cluster_id)
    assert place.cluster3.engine_version == "3.0.0"
    return place


def test_on_3x_a_rolling_restart_pauses_only_the_runs_on_each_batch_and_resumes_them_after_it(place3):
    node = register_agent(place3.meta, place3.cluster3, "node-1", MEMBER)
    register_agent(place3.meta, place3.cluster3, "node-2", "10.0.0.2:5801")
    planned = actions.plan_operation(cluster=place3.cluster3, type="rolling_restart", params={"batch_size": 1})
    assert [s.key for s in planned.steps] == [
        *(f"b1.{k}" for k in ("pause", "restart", "health", "rejoin", "resume")),
        *(f"b2.{k}" for k in ("pause", "restart", "health", "rejoin", "resume")),
    ]
    assert "batch by batch" in planned.notes[0]
    stream = start_stream(place3, on=place3.cluster3)
    op_id = actions.do_request_operation(
        metadata=place3.meta, cluster=place3.cluster3, type="rolling_restart", params={"nodes": ["node-1"]}
    )
    op = drive(op_id, [node], runs=RunWorker(place3.cluster3.id))
    assert op.state == "SUCCEEDED", (op.error_code, op.error, steps(op_id))
    assert OperationStep.unscoped.get(operation_id=op_id, key="b1.pause").result == {"paused": [stream]}
    assert OperationStep.unscoped.get(operation_id=op_id, key="b1.resume").result["resumed"] == [stream]
    run = Run.unscoped.get(id=stream)
    assert run.state in ("RUNNING", "SUBMITTING") and run.acknowledged
    run_actions.do_stop_run(metadata=_as_tests(place3), run=run)
    stop_on_engine(stream)


def test_on_3x_a_node_without_tasks_pauses_nothing(place3, tmp_path):
    stream = start_stream(place3, on=place3.cluster3)

    def pause_on(address: str) -> dict:
        op_id = actions.do_request_operation(
            metadata=place3.meta,
            cluster=place3.cluster3,
            type="testing.steps",
            params={
                "steps": [
                    {
                        "key": "pause",
                        "kind": "runs.pause",
                        "params": {"placement": True},
                        "targets": [{"address": address}],
                        "compensation": "runs.resume",
                    },
                    {"key": "undo", "kind": "testing.fail", "params": {"file": str(tmp_path / "x")}},
                ]
            },
        )
        op = drive(op_id, [], runs=RunWorker(place3.cluster3.id))
        assert op.state == "ROLLED_BACK"  # the failing second step resumes what the first paused
        return OperationStep.unscoped.get(operation_id=op_id, key="pause").result

    assert pause_on("10.0.0.2:5801") == {"paused": []}
    assert Run.unscoped.get(id=stream).state == "RUNNING"
    assert pause_on(MEMBER) == {"paused": [stream]}
    assert Run.unscoped.get(id=stream).state in ("RUNNING", "SUBMITTING")
    run_actions.do_stop_run(metadata=_as_tests(place3), run=Run.unscoped.get(id=stream))
    stop_on_engine(stream)
