"""Every writer of jobs authorizes its actor itself (ADR 0018), whoever calls it: a user without the writer's point,
a user actor without a credential and metadata bound to another tenant are refused and nothing is appended; a user
holding the point succeeds. The cases are checked against the writers the modules define, so a new writer without
a case fails here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs import actions, run_actions
from controlplane.jobs.models import Job, JobSchedule, Run
from controlplane.seatunnel.states import JobState as EngineState
from tests.api.world import FAKE_TO_CONSOLE, World, world_for_module

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def _system(world: World) -> Metadata:
    return Metadata.for_system(world.acme.id, reason="tests", workspace_id=world.acme_ws.id)


def _as(world: World, who: str, *, principal: bool = True) -> Metadata:
    """A user's metadata as the API builds it: acting in acme's workspace (beta's for the outsider)."""
    user = world.users[who]
    tenant, workspace = (world.beta, world.beta_ws) if who == "outsider" else (world.acme, world.acme_ws)
    return Metadata(
        tenant_id=tenant.id,
        workspace_id=workspace.id,
        actor=Actor("user", user.username),
        principal=user if principal else None,
    )


def _job(world: World, key: str = "acme_job") -> Job:
    return Job.unscoped.get(id=world.objects[key])


def _run(world: World, state: str) -> Run:
    return Run.unscoped.get(id=world.objects[f"acme_run_{state}"])


def _submitting(world: World) -> Run:
    """A run whose submit request is on its way (the runner recorded it, the engine has not answered)."""
    run = _run(world, "pending")
    run_actions.do_record_run_submission_started(metadata=_system(world), run=run)
    return Run.unscoped.get(id=run.id)


def _stopping_unsent(world: World) -> Run:
    run = _submitting(world)
    run_actions.do_stop_run(metadata=_system(world), run=run)
    return Run.unscoped.get(id=run.id)


def _fire_time(world: World) -> dict[str, Any]:
    job = _job(world, "acme_scheduled_job")
    due = JobSchedule.unscoped.get(job_id=job.id).next_fire_at + timedelta(seconds=1)
    return {"job": job, "now": due}


@dataclass(frozen=True)
class Case:
    writer: Callable[..., Any]
    point: str
    arguments: Callable[[World], dict[str, Any]]  # the call's keyword arguments, the object put in the right state
    appends: bool = True


CASES = [
    Case(
        actions.do_create_job,
        "job.create",
        lambda w: {
            "tenant_id": w.acme.id,
            "workspace_id": w.acme_ws.id,
            "name": "new",
            "cluster_id": w.objects["acme_cluster"],
            "config": FAKE_TO_CONSOLE,
        },
    ),
    Case(actions.do_revise_job, "job.update", lambda w: {"job": _job(w), "config": FAKE_TO_CONSOLE.replace("32", "8")}),
    Case(actions.do_roll_back_job, "job.update", lambda w: {"job": _job(w), "to_version": 1}),
    Case(actions.do_update_job, "job.update", lambda w: {"job": _job(w), "changes": {"description": "nightly"}}),
    Case(actions.do_delete_job, "job.delete", lambda w: {"job": _job(w, "acme_scheduled_job")}),
    Case(actions.do_set_schedule, "job.update", lambda w: {"job": _job(w), "cron": "*/5 * * * *"}),
    Case(actions.do_remove_schedule, "job.update", lambda w: {"job": _job(w, "acme_scheduled_job")}),
    Case(actions.do_fire_schedule, "job.run", _fire_time),
    Case(run_actions.do_start_run, "job.run", lambda w: {"job": _job(w, "acme_scheduled_job")}),
    Case(run_actions.do_retry_run, "job.run", lambda w: {"run": _run(w, "failed"), "allow_overlap": True}),
    Case(run_actions.do_reproduce_run, "job.run", lambda w: {"run": _run(w, "running"), "allow_overlap": True}),
    Case(run_actions.do_stop_run, "job.stop", lambda w: {"run": _run(w, "running")}),
    Case(run_actions.do_resume_run, "job.run", lambda w: {"run": _run(w, "paused")}, appends=False),
    Case(run_actions.do_cancel_run, "job.stop", lambda w: {"run": _run(w, "pending")}),
    Case(
        run_actions.do_resolve_run,
        "job.run",
        lambda w: {"run": _run(w, "unknown"), "state": "FAILED", "reason": "the engine was wiped"},
    ),
    Case(run_actions.do_record_run_submission_started, "job.run", lambda w: {"run": _run(w, "pending")}),
    Case(
        run_actions.do_record_run_submitted,
        "job.run",
        lambda w: {"run": _submitting(w), "found_by_reconcile": False},
    ),
    Case(
        run_actions.do_record_run_submit_outcome_unknown,
        "job.run",
        lambda w: {"run": _submitting(w), "code": "ZETA_SUBMIT_OUTCOME_UNKNOWN", "message": "timed out"},
    ),
    Case(
        run_actions.do_record_run_submit_failed,
        "job.run",
        lambda w: {"run": _submitting(w), "code": "ZETA_REQUEST_REJECTED", "message": "no such plugin"},
    ),
    Case(run_actions.do_record_run_stopped_unsent, "job.stop", lambda w: {"run": _stopping_unsent(w)}),
    Case(run_actions.do_record_run_lost, "job.run", lambda w: {"run": _run(w, "running")}),
    Case(
        run_actions.do_record_run_observed,
        "job.run",
        lambda w: {"run": _run(w, "running"), "engine_state": EngineState.FINISHED, "error": None, "metrics": {}},
    ),
]
WITHOUT_THE_POINT = {"job.run": "viewer", "job.stop": "viewer"}  # else an operator: runs jobs, changes none
WITH_THE_POINT = {"job.run": "operator", "job.stop": "operator"}  # else an admin
IDS = [case.writer.__name__ for case in CASES]


def _writers(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if name.startswith("do_") and getattr(value, "__module__", "") == module.__name__
    }


def test_every_writer_of_jobs_has_a_case() -> None:
    assert _writers(actions) | _writers(run_actions) == set(IDS)


def _refused(case: Case, arguments: dict[str, Any], metadata: Metadata) -> str:
    before = Event.objects.count()
    with pytest.raises(DomainError) as refused:
        case.writer(metadata=metadata, **arguments)
    assert Event.objects.count() == before, "a refused writer appended"
    return refused.value.code


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_refused_without_the_point_without_a_credential_and_from_another_tenant(case: Case, world: World) -> None:
    arguments = case.arguments(world)
    lacking, holder = WITHOUT_THE_POINT.get(case.point, "operator"), WITH_THE_POINT.get(case.point, "admin")
    assert _refused(case, arguments, _as(world, lacking)) == "PERMISSION_DENIED"
    assert _refused(case, arguments, _as(world, holder, principal=False)) == "PERMISSION_DENIED"
    assert _refused(case, arguments, _as(world, "outsider")) == "NOT_FOUND"  # beta's owner, on acme's objects


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_holder_of_the_point_succeeds(case: Case, world: World, django_capture_on_commit_callbacks) -> None:
    arguments = case.arguments(world)
    before = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        case.writer(metadata=_as(world, WITH_THE_POINT.get(case.point, "admin")), **arguments)
    if case.appends:
        assert Event.objects.count() > before
    else:  # a resume appends nothing: it queues the submit that sends the run again
        assert any("_enqueue_submit" in callback.__qualname__ for callback in queued)


def test_a_secret_given_to_a_variable_when_a_run_starts_needs_the_point_that_writes_configs(world):
    # docs/SECURITY.md: an operator runs the jobs an admin wrote; routing a secret into one is writing it.
    job_id = actions.do_create_job(
        metadata=_as(world, "admin"),
        tenant_id=world.acme.id,
        workspace_id=world.acme_ws.id,
        name="labelled",
        config=FAKE_TO_CONSOLE.replace('plugin_output = "fake"', 'plugin_output = "${label}"').replace(
            'plugin_input = "fake"', 'plugin_input = "${label}"'
        ),
        cluster_id=world.objects["acme_cluster"],
        variables=[{"name": "label", "default": "fake"}],
    )
    job = Job.unscoped.get(id=job_id)
    started = run_actions.do_start_run(metadata=_as(world, "operator"), job=job, variables={"label": "plain"})
    assert Run.unscoped.get(id=started).manifest["variables"] == {"label": "plain"}
    runs, events = Run.unscoped.count(), Event.objects.count()
    with pytest.raises(DomainError) as refused:
        run_actions.do_start_run(
            metadata=_as(world, "operator"), job=job, variables={"label": "[[secret:db-password]]"}, allow_overlap=True
        )
    assert refused.value.code == "PERMISSION_DENIED" and refused.value.details["permission"] == "job.update"
    assert (Run.unscoped.count(), Event.objects.count()) == (runs, events)
    by_admin = run_actions.do_start_run(
        metadata=_as(world, "admin"), job=job, variables={"label": "[[secret:db-password]]"}, allow_overlap=True
    )
    assert Run.unscoped.get(id=by_admin).manifest["variables"] == {"label": "[[secret:db-password]]"}
