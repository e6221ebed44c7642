"""Runs against a real emulator process, one worker step at a time: lost answers, dead workers, engine restarts,
unreachable clusters and refusals are settled by evidence, and nothing is lost or sent twice."""

from __future__ import annotations

import pytest

from controlplane.clusters import actions as clusters
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions, runner
from controlplane.jobs.models import Job, Run
from controlplane.seatunnel.client import ZetaClient
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.secrets import actions as secrets
from controlplane.tenancy import actions as tenancy
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

STREAM = """
env {{ job.mode = "STREAMING", parallelism = 1 {extra} }}
source {{ FakeSource {{ plugin_output = "t", row.num = 1000000, split.read-interval = 10,
  schema = {{ fields {{ id = "bigint" }} }} }} }}
sink {{ Console {{ plugin_input = "t" }} }}
"""


@pytest.fixture
def zeta():
    with emulator_process("--time-scale", "0.2") as running:
        yield running


@pytest.fixture
def setup(zeta):
    meta = Metadata.for_system(None, reason="tests")
    tenant = tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme")
    workspace = tenancy.do_create_workspace(metadata=meta, tenant_id=tenant, name="ETL", slug="etl")
    secrets.do_create_secret(
        metadata=meta, tenant_id=tenant, workspace_id=workspace, name="api-key", value="s3cr3t-value"
    )
    cluster = clusters.do_register_cluster(
        metadata=meta,
        tenant_id=tenant,
        workspace_id=workspace,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[zeta.url],
    )

    def make_job(extra: str = "", name: str = "stream") -> Job:
        job_id = jobs.do_create_job(
            metadata=meta,
            tenant_id=tenant,
            workspace_id=workspace,
            name=name,
            cluster_id=cluster,
            config=STREAM.format(extra=extra),
        )
        return Job.unscoped.get(id=job_id)

    return meta, make_job, cluster


def start(meta, job, django_capture_on_commit_callbacks) -> Run:
    with django_capture_on_commit_callbacks(execute=False) as queued:  # the worker is played by the test
        run_id = run_actions.do_start_run(metadata=meta, job=job)
    # One submit task, queued after commit (other after-commit callbacks, e.g. the live tailers' wake-up
    # notice with Redis, are not the worker's business).
    assert len([c for c in queued if "_enqueue_submit" in c.__qualname__]) == 1
    return Run.unscoped.get(id=run_id)


def worker(run: Run) -> Metadata:
    """The submit task's actor: the control plane, in the run's tenant and workspace."""
    return Metadata.for_system(run.tenant_id, reason="jobs.submit_run", workspace_id=run.workspace_id)


def settle(run: Run, *states: str) -> Run:
    def arrived() -> bool:
        runner.sync_cluster(run.cluster_id)
        run.refresh_from_db()
        return run.state in states

    wait_until(arrived, interval=0.05, message=lambda: f"run in {states}, it stayed {run.state}")
    return run


def engine_copies(zeta, run: Run) -> int:
    with ZetaClient(zeta.url) as client:
        return sum(1 for j in client.running_jobs() + client.finished_jobs() if j.job_id == run.engine_job_id)


def test_a_lost_submit_answer_is_reconciled_by_id_and_never_sent_twice(setup, zeta, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    run = start(meta, make_job(', emulator.lose_submit_answer = "true"'), django_capture_on_commit_callbacks)
    with pytest.raises(runner.SubmitLater):
        runner.submit(run, 0, metadata=worker(run))
    run.refresh_from_db()
    assert (run.state, run.acknowledged, run.error_code) == ("SUBMITTING", False, "ZETA_SUBMIT_OUTCOME_UNKNOWN")
    assert engine_copies(zeta, run) == 1  # the engine has it; we do not know yet
    assert Event.objects.filter(stream_id=f"run-{run.id}").latest("position").event_type == (
        "jobs.run_submit_outcome_unknown"
    )
    facts = runner.submit(run, run.attempts, metadata=worker(run))  # the task's retry: asks by id first
    assert facts.acknowledged and facts.attempts == 1
    submitted = Event.objects.filter(stream_id=f"run-{run.id}", event_type="jobs.run_submitted").get()
    assert submitted.payload and '"found_by_reconcile":true' in submitted.payload.replace(" ", "")
    assert engine_copies(zeta, run) == 1
    assert settle(run, "RUNNING").state == "RUNNING"


def test_a_worker_that_died_after_sending_is_adopted_not_resubmitted(setup, zeta, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    run = start(meta, make_job(), django_capture_on_commit_callbacks)
    run_actions.do_record_run_submission_started(metadata=worker(run), run=run)
    with ZetaClient(zeta.url) as client:  # the dead worker's request had reached the engine
        client.submit_job(
            {
                "env": {"job.mode": "STREAMING"},
                "source": [{"plugin_name": "FakeSource"}],
                "sink": [{"plugin_name": "Console"}],
            },
            job_id=run.engine_job_id,
        )
    facts = runner.submit(run, 1, metadata=worker(run))  # the redelivered task
    assert facts.acknowledged and facts.attempts == 1
    with ZetaClient(zeta.url) as client:
        assert "no need to submit again" not in client.logs(run.engine_job_id)  # nothing was sent again


def test_a_worker_that_died_before_sending_sends_once_more(setup, zeta, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    run = start(meta, make_job(), django_capture_on_commit_callbacks)
    run_actions.do_record_run_submission_started(metadata=worker(run), run=run)
    assert engine_copies(zeta, run) == 0
    facts = runner.submit(run, 1, metadata=worker(run))
    assert facts.acknowledged and facts.attempts == 2
    assert engine_copies(zeta, run) == 1
    # a late duplicate of the first task finds the run moved on and does nothing
    assert runner.submit(run, 0, metadata=worker(run)).attempts == 2
    assert runner.submit(run, 1, metadata=worker(run)).attempts == 2
    assert engine_copies(zeta, run) == 1


def test_secrets_are_resolved_at_submit_and_never_stored_resolved(setup, zeta, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    run = start(meta, make_job(', emulator.note = "[[secret:api-key]]"'), django_capture_on_commit_callbacks)
    runner.submit(run, 0, metadata=worker(run))
    with ZetaClient(zeta.url) as client:
        assert client.job_info(run.engine_job_id).env_options["emulator.note"] == "s3cr3t-value"
    run.refresh_from_db()
    assert run.manifest["secrets"] == ["api-key"] and "[[secret:api-key]]" in run.manifest["config_text"]
    assert not Event.objects.filter(payload__contains="s3cr3t-value").exists()


def test_an_engine_that_forgot_the_job_makes_the_run_unknown_until_an_operator_resolves_it(
    setup, zeta, django_capture_on_commit_callbacks
):
    meta, make_job, cluster = setup
    run = start(meta, make_job(), django_capture_on_commit_callbacks)
    runner.submit(run, 0, metadata=worker(run))
    run = settle(run, "RUNNING")
    zeta.process.terminate()
    zeta.process.wait()
    with emulator_process("--port", str(zeta.port)):  # the same address, a fresh engine without the job
        result = runner.sync_cluster(cluster)
        assert result.changed == 1
        run.refresh_from_db()
        assert (run.state, run.error_code) == ("UNKNOWN", "ZETA_JOB_NOT_FOUND")
        assert runner.sync_cluster(cluster).changed == 0  # no guess on later polls either
    with pytest.raises(DomainError) as info:
        run_actions.do_resolve_run(metadata=meta, run=run, state="FAILED", reason=" ")
    assert info.value.code == "RUN_REASON_REQUIRED"
    run_actions.do_resolve_run(metadata=meta, run=run, state="FAILED", reason="engine restarted without persistence")
    run.refresh_from_db()
    assert (run.state, run.error) == ("FAILED", "engine restarted without persistence")


def test_an_unreachable_cluster_moves_no_run_and_fails_a_submit_only_when_giving_up(
    setup, zeta, django_capture_on_commit_callbacks
):
    meta, make_job, _ = setup
    running = start(meta, make_job(name="a"), django_capture_on_commit_callbacks)
    runner.submit(running, 0, metadata=worker(running))
    running = settle(running, "RUNNING")
    waiting = start(meta, make_job(name="b"), django_capture_on_commit_callbacks)
    zeta.process.terminate()
    zeta.process.wait()
    before = Event.objects.count()
    assert runner.sync_cluster(running.cluster_id).error == "ZETA_UNREACHABLE"
    assert Event.objects.count() == before
    with pytest.raises(runner.SubmitLater):
        runner.submit(waiting, 0, metadata=worker(waiting))
    waiting.refresh_from_db()
    assert waiting.state == "PENDING"  # nothing was sent: nothing recorded as sent
    facts = runner.submit(waiting, 0, give_up=True, metadata=worker(waiting))
    waiting.refresh_from_db()
    assert (str(facts.state), waiting.error_code) == ("FAILED", "ZETA_UNREACHABLE")


def test_an_engine_refusal_fails_the_run_with_the_engines_words(setup, zeta, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    run = start(meta, make_job(', emulator.fault = "unknown_plugin"'), django_capture_on_commit_callbacks)
    runner.submit(run, 0, metadata=worker(run))
    run.refresh_from_db()
    assert (run.state, run.error_code) == ("FAILED", "ZETA_REQUEST_REJECTED")
    assert "PluginIdentifier" in run.error and "not found" in run.error


def test_cancel_and_illegal_moves(setup, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    job = make_job()
    run = start(meta, job, django_capture_on_commit_callbacks)
    with pytest.raises(DomainError) as info:
        run_actions.do_resume_run(metadata=meta, run=run)
    assert info.value.code == "RUN_TRANSITION_ILLEGAL"
    with pytest.raises(DomainError) as info:
        run_actions.do_stop_run(metadata=meta, run=run, savepoint=True)
    assert info.value.code == "RUN_TRANSITION_ILLEGAL"
    run_actions.do_cancel_run(metadata=meta, run=run)
    run.refresh_from_db()
    assert run.state == "STOPPED" and run.finished_at is not None
    assert runner.submit(run, 0, metadata=worker(run)).state == "STOPPED"  # its queued task finds nothing to send
    with pytest.raises(DomainError) as info:
        run_actions.do_cancel_run(metadata=meta, run=run)
    assert info.value.code == "RUN_TRANSITION_ILLEGAL"


def test_active_runs_guard_the_quota_and_the_job(setup, django_capture_on_commit_callbacks):
    meta, make_job, _ = setup
    job = make_job()
    run = start(meta, job, django_capture_on_commit_callbacks)
    tenancy.do_set_quotas(metadata=meta, tenant_id=job.tenant_id, quotas={"concurrent_runs": 1})
    with pytest.raises(DomainError) as info:
        run_actions.do_start_run(metadata=meta, job=make_job(name="other"))
    assert info.value.code == "TENANT_QUOTA_EXCEEDED"
    with pytest.raises(DomainError) as info:
        jobs.do_delete_job(metadata=meta, job=job)
    assert (info.value.code, info.value.details["run_id"]) == ("JOB_ACTIVE_RUNS_EXIST", run.id)
    run_actions.do_cancel_run(metadata=meta, run=run)
    run_actions.do_start_run(metadata=meta, job=make_job(name="third"))  # the slot is free again
    jobs.do_delete_job(metadata=meta, job=job)


def test_a_cluster_selector_picks_a_reachable_matching_cluster_at_each_start(
    setup, zeta, django_capture_on_commit_callbacks
):
    from controlplane.clusters.health import poll_one
    from controlplane.clusters.models import Cluster

    meta, _, first = setup
    tenant_id, workspace_id = Cluster.unscoped.filter(id=first).values_list("tenant_id", "workspace_id").get()
    clusters.do_update_cluster(
        metadata=meta, cluster=Cluster.unscoped.get(id=first), changes={"labels": {"env": "prod"}}
    )
    with emulator_process() as other:
        second = clusters.do_register_cluster(
            metadata=meta,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name="zeta-b",
            form="bare_metal",
            mode="hybrid",
            endpoints=[other.url],
            labels={"env": "prod", "zone": "b"},
        )
        with pytest.raises(DomainError) as info:
            jobs.do_create_job(
                metadata=meta,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                name="nowhere",
                config=STREAM.format(extra=""),
                cluster_selector={"env": "staging"},
            )
        assert info.value.code == "JOB_CLUSTER_SELECTOR_UNMATCHED"
        with pytest.raises(DomainError) as info:
            jobs.do_create_job(
                metadata=meta,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                name="both",
                config=STREAM.format(extra=""),
                cluster_id=first,
                cluster_selector={"env": "prod"},
            )
        assert info.value.code == "JOB_CLUSTER_TARGET_INVALID"
        job = Job.unscoped.get(
            id=jobs.do_create_job(
                metadata=meta,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                name="anywhere-prod",
                config=STREAM.format(extra=""),
                cluster_selector={"env": "prod"},
            )
        )
        assert job.cluster_id == "" and job.cluster_selector == {"env": "prod"}
        zeta.process.terminate()
        zeta.process.wait()
        for cluster_id in (first, second):
            cluster = Cluster.unscoped.get(id=cluster_id)  # the first is down now, the second answers
            poll_one(
                cluster,
                metadata=Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id),
            )
        run = start(meta, job, django_capture_on_commit_callbacks)
        assert (run.cluster_id, run.manifest["cluster_selector"]) == (second, {"env": "prod"})
        runner.submit(run, 0, metadata=worker(run))
        assert settle(run, "RUNNING").manifest["cluster"]["name"] == "zeta-b"
