"""Job configs cannot reach the host, through the API and the worker that submits runs (docs/SECURITY.md).

The attack: a tenant admin writes `secret_key = ${?CONTROLPLANE_SECRET_KEY}` into a job's HOCON and reads the
control plane's secret key back, even as a viewer, from the version's normal form. Now a `${name}` is a job variable:
declared on the job, given per run, recorded in the run's manifest, filled in only in what is submitted to the
engine (the Zeta emulator, a real process). The environment and included files are never read.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from controlplane.eventlog.models import Event
from controlplane.eventlog.types import decode
from controlplane.iam import actions as iam
from controlplane.jobs.models import Job
from controlplane.seatunnel.client import ZetaClient
from controlplane.tenancy.models import Tenant
from tests.jobs.test_runs_e2e import api_as, eager, wait_for, zeta  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

SECRET = "host-secret-2b7e51"
ATTACK = """
env {
  job.mode = "STREAMING"
  checkpoint.interval = 1000
  secret_key = ${?CONTROLPLANE_SECRET_KEY}
  home = ${HOME}
}
source { FakeSource { plugin_output = "events", row.num = 1000000, split.read-interval = 10,
  schema = { fields { id = "bigint" } } } }
sink { Console { plugin_input = "events" } }
"""
WITH_VARIABLES = ATTACK.replace("home = ${HOME}", 'label = "run-"${label}\n  parallelism = ${readers}')


@pytest.fixture
def people(django_capture_on_commit_callbacks, monkeypatch, zeta):  # noqa: F811
    monkeypatch.setenv("CONTROLPLANE_SECRET_KEY", SECRET)
    monkeypatch.setenv("HOME", SECRET)
    from controlplane.eventlog.metadata import Metadata
    from controlplane.tenancy import actions as tenancy

    meta = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme")
    tenancy.do_create_workspace(metadata=meta, tenant_id=tenant_id, name="ETL", slug="etl")
    tenant = Tenant.objects.get(id=tenant_id)
    users = {}
    for role in ("owner", "admin", "viewer"):
        users[role] = User.objects.create_user(role)
        iam.do_grant_role(
            user=users[role], tenant=tenant, role=role, metadata=Metadata.for_system(None, reason="tests")
        )

    def as_role(role: str):
        call = api_as(users[role])

        def committed(*args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return call(*args, **kwargs)

        return committed

    cluster = as_role("owner")(
        "post", "clusters/", {"name": "zeta", "form": "bare_metal", "mode": "hybrid", "endpoints": [zeta.url]}, 201
    )
    return as_role, cluster["id"]


def _engine_env(zeta, engine_job_id: str) -> dict:  # noqa: F811
    """The env the engine holds for the job (`envOptions` of /job-info: the env as it was sent)."""
    with ZetaClient(zeta.url) as client:
        return dict(client.job_info(int(engine_job_id)).env_options)


def test_the_environment_never_reaches_a_version_the_api_or_the_log(people):
    as_role, cluster_id = people
    admin = as_role("admin")
    answer = admin("post", "jobs/", {"name": "leak", "cluster_id": cluster_id, "config": ATTACK}, 400)
    assert answer["error"]["code"] == "JOB_CONFIG_INVALID"
    problem = answer["error"]["details"]["problems"][0]
    assert problem["code"] == "JOB_CONFIG_VARIABLE_UNRESOLVED"
    assert problem["details"]["variable"] == "CONTROLPLANE_SECRET_KEY"
    assert problem["details"]["line"] == 5
    assert problem["path"] == "env.secret_key"
    assert SECRET not in json.dumps(answer)
    assert not Job.unscoped.exists()
    assert not Event.objects.filter(stream_type="jobs.job").exists()


def test_includes_are_refused_through_the_api(people, tmp_path):
    as_role, cluster_id = people
    target = tmp_path / "leak.conf"
    target.write_text(f'env {{ leaked = "{SECRET}" }}\n')
    config = f'include file("{target}")\n' + WITH_VARIABLES
    answer = as_role("admin")("post", "jobs/", {"name": "inc", "cluster_id": cluster_id, "config": config}, 400)
    assert answer["error"]["details"]["problems"][0]["code"] == "JOB_CONFIG_INCLUDE_FORBIDDEN"
    assert SECRET not in json.dumps(answer)


def test_declared_variables_are_given_per_run_recorded_and_submitted(people, zeta, eager):  # noqa: F811
    as_role, cluster_id = people
    admin, viewer = as_role("admin"), as_role("viewer")
    declared = [
        {"name": "CONTROLPLANE_SECRET_KEY", "default": "chosen-by-the-tenant"},
        {"name": "label"},
        {"name": "readers", "default": 1},
    ]
    job = admin(
        "post",
        "jobs/",
        {"name": "vars", "cluster_id": cluster_id, "config": WITH_VARIABLES, "variables": declared},
        201,
    )

    # what a viewer reads keeps the references: nothing from the host, nothing filled in
    version = viewer("get", f"jobs/{job['id']}/versions/1/", status=200)
    assert version["normalised"]["env"]["secret_key"] == "${?CONTROLPLANE_SECRET_KEY}"
    assert version["normalised"]["env"]["label"] == "run-${label}"
    assert version["variables"] == sorted(declared, key=lambda d: d["name"])
    assert SECRET not in json.dumps(viewer("get", f"jobs/{job['id']}/versions/", status=200))

    # per-run values are checked before any run exists
    missing = admin("post", f"jobs/{job['id']}/runs/", {}, 400)
    assert missing["error"]["code"] == "JOB_CONFIG_VARIABLE_UNRESOLVED"
    assert missing["error"]["details"]["variable"] == "label"
    unknown = admin("post", f"jobs/{job['id']}/runs/", {"variables": {"label": "a", "HOME": "x"}}, 400)
    assert unknown["error"]["code"] == "JOB_VARIABLE_UNKNOWN"
    too_long = admin("post", f"jobs/{job['id']}/runs/", {"variables": {"label": "x" * 5000}}, 400)
    assert too_long["error"]["code"] == "JOB_VARIABLE_INVALID"
    nested = admin("post", f"jobs/{job['id']}/runs/", {"variables": {"label": {"a": 1}}}, 400)
    assert nested["error"]["code"] == "JOB_VARIABLE_INVALID"

    run = admin("post", f"jobs/{job['id']}/runs/", {"variables": {"label": "nightly", "readers": 2}}, 202)
    assert run["manifest"]["variables"] == {
        "CONTROLPLANE_SECRET_KEY": "chosen-by-the-tenant",
        "label": "nightly",
        "readers": 2,
    }
    assert run["manifest"]["normalised"]["env"]["label"] == "run-${label}"  # the manifest keeps references
    running = wait_for(admin, run["id"], "RUNNING")

    # what the engine received: the run's values, typed where a whole value was one reference
    env = _engine_env(zeta, running["engine_job_id"])
    assert env["secret_key"] == "chosen-by-the-tenant"
    assert env["label"] == "run-nightly"
    assert env["parallelism"] == 2  # envOptions is the env as sent: a number stays a number
    assert SECRET not in json.dumps(env)
    admin("post", f"runs/{run['id']}/stop/", {}, 202)
    wait_for(admin, run["id"], "STOPPED", "FAILED", "SUCCEEDED")


def test_versions_written_before_variables_read_with_none():
    """A stored schema-1 jobs.job_version_added payload (no `variables`) is upcast on read."""
    payload = {
        "job_id": "j1",
        "version": 1,
        "format": "hocon",
        "text": "env {}",
        "normalised": {"env": {}, "source": [], "transform": [], "sink": []},
        "mode": "BATCH",
        "message": "created",
        "rolled_back_from": None,
    }
    event = decode("jobs.job_version_added", 1, payload)
    assert event.variables == []


def test_variables_are_part_of_a_version_revise_keeps_them_and_roll_back_restores_them(people):
    as_role, cluster_id = people
    admin = as_role("admin")
    config = WITH_VARIABLES.replace("${?CONTROLPLANE_SECRET_KEY}", '"fixed"')
    first = [{"name": "label", "default": "a"}, {"name": "readers", "default": 1}]
    job = admin("post", "jobs/", {"name": "v", "cluster_id": cluster_id, "config": config, "variables": first}, 201)
    second = [{"name": "label", "default": "b"}, {"name": "readers", "default": 2}]
    job = admin("post", f"jobs/{job['id']}/versions/", {"config": config, "variables": second}, 200)
    assert job["current_version"] == 2  # same text, other variables: a new version
    job = admin("post", f"jobs/{job['id']}/versions/", {"config": config + "\n# same variables\n"}, 200)
    assert admin("get", f"jobs/{job['id']}/versions/3/", status=200)["variables"] == second
    dropped = admin("post", f"jobs/{job['id']}/versions/", {"config": config, "variables": []}, 400)
    assert dropped["error"]["details"]["problems"][0]["code"] == "JOB_CONFIG_VARIABLE_UNRESOLVED"
    bad = admin("post", f"jobs/{job['id']}/versions/", {"config": config, "variables": [{"name": "1x"}]}, 400)
    assert bad["error"]["code"] == "JOB_VARIABLE_INVALID"
    job = admin("post", f"jobs/{job['id']}/rollback/", {"to_version": 1}, 200)
    assert admin("get", f"jobs/{job['id']}/versions/4/", status=200)["variables"] == first
