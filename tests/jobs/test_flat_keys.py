"""Versions stored with the old split normal form are read with flat dotted keys (ZETA_FACTS §3.1): the
``jobs.job_version_added`` v2 -> v3 upcaster, the read model after a rebuild, and the JSON the engine receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from controlplane.clusters import actions as clusters
from controlplane.eventlog import types
from controlplane.eventlog.aggregates import load
from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import append
from controlplane.eventlog.types import decode
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions, runner
from controlplane.jobs.models import Job, JobVersion, Run
from controlplane.seatunnel.client import ZetaClient
from controlplane.seatunnel.config.upcast import legacy_form
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.tenancy import actions as tenancy

CONFIG = """
env { job.mode = "STREAMING", parallelism = 1, checkpoint.interval = 5000 }
source { FakeSource { plugin_output = "t", row.num = 1000000, split.read-interval = 10,
  schema = { fields { id = "bigint" } } } }
sink { Console { plugin_input = "t" } }
"""
FLAT_ENV = {"job.mode": "STREAMING", "parallelism": 1, "checkpoint.interval": 5000}
SPLIT_ENV = {"job": {"mode": "STREAMING"}, "parallelism": 1, "checkpoint": {"interval": 5000}}


def _v2_payload(text: str, normalised: dict) -> dict:
    return {
        "job_id": "j1",
        "version": 1,
        "format": "hocon",
        "text": text,
        "normalised": normalised,
        "mode": "STREAMING",
        "message": "created",
        "rolled_back_from": None,
        "variables": [],
    }


def _split() -> dict:
    return {
        "env": SPLIT_ENV,
        "source": [
            {
                "plugin": "FakeSource",
                "options": {
                    "plugin_output": "t",
                    "row": {"num": 1000000},
                    "split": {"read-interval": 10},
                    "schema": {"fields": {"id": "bigint"}},
                },
            }
        ],
        "transform": [],
        "sink": [{"plugin": "Console", "options": {"plugin_input": "t"}}],
    }


@pytest.mark.django_db
def test_a_split_version_whose_text_gives_it_back_is_read_flat_and_settled():
    event = decode("jobs.job_version_added", 2, _v2_payload(CONFIG, _split()))
    assert event.normalised["env"] == FLAT_ENV
    options = event.normalised["source"][0]["options"]
    assert options["row.num"] == 1000000 and options["split.read-interval"] == 10
    assert options["schema"] == {"fields": {"id": "bigint"}}  # a real object stays one
    assert event.ambiguous == []


@pytest.mark.django_db
def test_a_split_version_its_text_cannot_settle_keeps_the_undecided_options_listed():
    # the text was edited by hand in the database, or written by a reader that no longer parses it the same way
    event = decode("jobs.job_version_added", 2, _v2_payload("env {}", _split()))
    assert event.normalised["env"] == FLAT_ENV  # the engine reads env settings flat: always settled
    assert sorted(event.ambiguous) == ["source[0].row", "source[0].schema", "source[0].split"]
    # schema 1 (before variables) goes through both upcasters
    old = {k: v for k, v in _v2_payload(CONFIG, _split()).items() if k != "variables"}
    assert decode("jobs.job_version_added", 1, old).normalised["env"] == FLAT_ENV


@dataclass(frozen=True)
class JobVersionAdded:  # the v2 shape, as an older release appended it (same name: it stands in on the wire)
    job_id: str
    version: int
    format: str
    text: str
    normalised: dict
    mode: str
    message: str
    rolled_back_from: int | None
    variables: list

    @property
    def ambiguous(self) -> list:  # for today's projector, which projects it as it is appended (not a field)
        return []


@contextmanager
def appending_as_v2() -> Iterator[None]:
    """Append jobs.job_version_added with schema version 2, then put the current type back (its upcasters stay)."""
    name = "jobs.job_version_added"
    current = types._by_name.pop(name)
    types.event_type(name, version=2)(JobVersionAdded)
    try:
        yield
    finally:
        types._by_class.pop(JobVersionAdded, None)
        types._by_name[name] = current


@pytest.fixture
def zeta():
    with emulator_process("--time-scale", "0.2") as running:
        yield running


@pytest.mark.django_db
def test_an_old_version_is_rebuilt_flat_and_its_runs_send_flat_keys(zeta, django_capture_on_commit_callbacks):
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
        endpoints=[zeta.url],
    )
    job_id = jobs.do_create_job(
        metadata=meta, tenant_id=tenant, workspace_id=workspace, name="j", cluster_id=cluster, config=CONFIG
    )
    stream = jobs.job_stream(job_id)
    old = JobVersionAdded(**{**_v2_payload(CONFIG, _split()), "job_id": job_id, "version": 2, "message": "old"})
    with appending_as_v2():
        append(stream, 2, [old], Metadata.for_system(tenant, reason="tests", workspace_id=workspace))

    # appended, it was projected as the old release did: split; a rebuild reads it through the upcaster
    assert JobVersion.unscoped.get(job_id=job_id, version=2).normalised["env"] == SPLIT_ENV
    rebuild(["jobs"])
    row = JobVersion.unscoped.get(job_id=job_id, version=2)
    assert row.normalised == JobVersion.unscoped.get(job_id=job_id, version=1).normalised
    assert row.normalised["env"] == FLAT_ENV and row.ambiguous == []
    state, _ = load(jobs.JOB, stream.id)
    assert state.versions["2"]["normalised"]["env"] == FLAT_ENV

    # a run of it, even one whose manifest still holds the split form, sends flat keys
    job = Job.unscoped.get(id=job_id)
    assert job.current_version == 2
    with django_capture_on_commit_callbacks(execute=False):
        run_id = run_actions.do_start_run(metadata=meta, job=job)
    run = Run.unscoped.get(id=run_id)
    assert run.manifest["normalised"]["env"] == FLAT_ENV
    Run.unscoped.filter(id=run_id).update(
        manifest={**run.manifest, "normalised": legacy_form(run.manifest["normalised"])}
    )
    run.refresh_from_db()
    worker = Metadata.for_system(tenant, reason="jobs.submit_run", workspace_id=workspace)
    assert runner.submit(run, 0, metadata=worker).acknowledged
    with ZetaClient(zeta.url) as client:
        env = dict(client.job_info(run.engine_job_id).env_options)
    assert env["checkpoint.interval"] == 5000 and env["job.mode"] == "STREAMING"
    assert "checkpoint" not in env and "job" not in env
