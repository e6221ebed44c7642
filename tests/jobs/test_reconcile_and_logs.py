"""The submit protocol's reconciliation and the run's log against a real emulator behind a real gateway: a submit
cut before the engine saw it is found unknown (`{"jobId": id}`, no status) and sent again under the same id; one
whose outcome stays unknown past the retry budget is UNKNOWN, never FAILED; log files on members that cannot be
reached are named, and the text of the others is kept."""

from __future__ import annotations

import socket
from datetime import timedelta

import httpx
import pytest

from controlplane.clusters import actions as clusters
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions, runner
from controlplane.jobs.models import Job, Run
from controlplane.seatunnel.client import ZetaClient, ZetaLogsUnreachable
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy import context
from tests.gateway import gateway

pytestmark = pytest.mark.django_db

STREAM = """
env { job.mode = "STREAMING", parallelism = 1 }
source { FakeSource { plugin_output = "t", row.num = 1000000, split.read-interval = 10,
  schema = { fields { id = "bigint" } } } }
sink { Console { plugin_input = "t" } }
"""


@pytest.fixture
def zeta():
    with emulator_process("--time-scale", "0.2") as running:
        yield running


@pytest.fixture
def front(zeta):
    with gateway(zeta.url) as running:
        yield running


@pytest.fixture
def start_run(front, django_capture_on_commit_callbacks):
    meta = Metadata.for_system(None, reason="tests")
    tenant = tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme")
    workspace = tenancy.do_create_workspace(metadata=meta, tenant_id=tenant, name="ETL", slug="etl")
    cluster = clusters.do_register_cluster(
        metadata=meta,
        tenant_id=tenant,
        workspace_id=workspace,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[front.url],
    )

    def start(config: str = STREAM) -> Run:
        job_id = jobs.do_create_job(
            metadata=meta, tenant_id=tenant, workspace_id=workspace, name="s", cluster_id=cluster, config=config
        )
        with django_capture_on_commit_callbacks(execute=False):  # the worker is played by the test
            run_id = run_actions.do_start_run(metadata=meta, job=Job.unscoped.get(id=job_id))
        return Run.unscoped.get(id=run_id)

    return start


def worker(run: Run) -> Metadata:
    return Metadata.for_system(run.tenant_id, reason="jobs.submit_run", workspace_id=run.workspace_id)


def engine_copies(zeta, run: Run) -> int:
    with ZetaClient(zeta.url) as client:
        return sum(1 for j in client.running_jobs() + client.finished_jobs() if j.job_id == run.engine_job_id)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_submit_the_engine_never_saw_is_sent_again_under_the_same_id(zeta, front, start_run):
    run = start_run()
    front.lose_submits = 1
    with pytest.raises(runner.SubmitLater):
        runner.submit(run, 0, metadata=worker(run))
    run.refresh_from_db()
    assert (run.state, run.acknowledged, run.error_code) == ("SUBMITTING", False, "ZETA_SUBMIT_OUTCOME_UNKNOWN")
    # what the reconciliation reads: the engine's answer for an id it does not know
    answer = httpx.get(f"{zeta.url}/job-info/{run.engine_job_id}").json()
    assert answer == {"jobId": str(run.engine_job_id)}
    assert engine_copies(zeta, run) == 0

    facts = runner.submit(run, run.attempts, metadata=worker(run))  # the task's retry
    assert facts.acknowledged and facts.attempts == 2 and facts.engine_job_id == run.engine_job_id
    submitted = Event.objects.filter(stream_id=f"run-{run.id}", event_type="jobs.run_submitted").get()
    assert '"found_by_reconcile":false' in submitted.payload.replace(" ", "")
    assert front.submits_seen == 2 and engine_copies(zeta, run) == 1


def test_a_submit_still_unknown_when_the_budget_is_spent_is_unknown_not_failed(zeta, front, start_run):
    run = start_run()
    front.lose_submits = 2
    with pytest.raises(runner.SubmitLater):
        runner.submit(run, 0, metadata=worker(run))
    run.refresh_from_db()
    facts = runner.submit(run, run.attempts, metadata=worker(run), give_up=True)  # the last try: asks, sends
    run.refresh_from_db()
    assert (str(facts.state), run.state, run.error_code) == ("UNKNOWN", "UNKNOWN", "ZETA_SUBMIT_OUTCOME_UNKNOWN")
    assert front.submits_seen == 2 and engine_copies(zeta, run) == 0
    # no guess later either: the sync loop neither resubmits nor settles it while the engine does not list it
    assert runner.sync_cluster(run.cluster_id).changed == 0
    assert runner.submit(run, run.attempts, metadata=worker(run)).state == "UNKNOWN"
    assert front.submits_seen == 2


def test_log_files_on_members_that_cannot_be_reached_are_named_and_the_rest_kept(zeta, front, start_run, monkeypatch):
    monkeypatch.setattr(runner, "LOG_REFRESH_AFTER", timedelta(0))  # every page asks the engine again
    run = start_run()
    runner.submit(run, 0, metadata=worker(run))
    run.refresh_from_db()
    down = f"127.0.0.1:{closed_port()}"
    front.down_members = [down]

    with context.bound(run.tenant_id, run.workspace_id):
        page = runner.log_page(run, tail=500)
    assert page.fetch_error is not None
    assert page.fetch_error["code"] == "ZETA_LOGS_UNREACHABLE" and page.fetch_error["nodes"] == [down]
    assert any(f"job id: {run.engine_job_id}" in line for line in page.lines), page.lines
    assert not any(down in line for line in page.lines[1:])  # only the readable file's text, under its header

    front.only_down_members = True  # now no member holding a file answers
    with pytest.raises(ZetaLogsUnreachable) as info:
        runner.fetch_log(run)
    assert info.value.details["nodes"] == [down]
    with context.bound(run.tenant_id, run.workspace_id):  # as the log view reads: in the run's workspace
        again = runner.log_page(run, tail=500)
    assert again.fetch_error == {
        "code": "ZETA_LOGS_UNREACHABLE",
        "message": info.value.message,
        "nodes": [down],
    }
    assert again.lines == page.lines  # what was kept is shown


def test_a_jdbc_source_that_cannot_connect_fails_the_submit_with_the_engines_message(zeta, front, start_run):
    url = f"jdbc:mysql://127.0.0.1:{closed_port()}/shop"
    config = f"""
env {{ job.mode = "BATCH" }}
source {{ Jdbc {{ url = "{url}", driver = "com.mysql.cj.jdbc.Driver", user = "etl", password = "x",
  query = "select id from orders", plugin_output = "orders" }} }}
sink {{ Console {{ plugin_input = "orders" }} }}
"""
    run = start_run(config)
    facts = runner.submit(run, 0, metadata=worker(run))
    run.refresh_from_db()
    assert (str(facts.state), run.state, run.error_code) == ("FAILED", "FAILED", "ZETA_REQUEST_REJECTED")
    assert run.error == (
        f"ErrorCode:[API-03], ErrorDescription:[Catalog initialize failed] - Failed connecting to {url} via JDBC."
    )
    assert engine_copies(zeta, run) == 0  # the engine built nothing
