"""The run page: the timeline of the run's events, its throughput (rates between the telemetry's samples), the tail
of the engine's log, the matched fault, and Reproduce through the API's writer (refused and audited for a viewer),
in English and Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from controlplane.audit.models import AuditRecord
from controlplane.console.pages import runs as runs_page
from controlplane.diagnostics.selectors import run_fault
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, Run, RunTelemetry
from controlplane.jobs.runner import _save_telemetry
from controlplane.seatunnel.states import JobState as EngineState
from controlplane.tenancy import context
from tests.api.world import FAKE_TO_CONSOLE, world_for_module
from tests.console.test_translations import untranslated
from tests.diagnostics.texts import SAMPLES

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def client_of(user: User, language: str = "en") -> Client:
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def sample(run: Run, at, records: int, nbytes: int) -> None:  # type: ignore[no-untyped-def]
    """One reading of the sync loop, saved the way the sync loop saves it."""
    metrics = {
        "source_received_count": records,
        "sink_write_count": records,
        "source_received_bytes": nbytes,
        "sink_write_bytes": nbytes,
    }
    _save_telemetry(
        [
            RunTelemetry(
                run_id=run.id, tenant_id=run.tenant_id, workspace_id=run.workspace_id, metrics=metrics, metrics_at=at
            )
        ]
    )


def set_log(run: Run, text: str) -> None:
    """The engine's log as the log fetch keeps it (runner.fetch_log writes this row the same way)."""
    with context.bound(run.tenant_id, run.workspace_id):
        RunTelemetry.objects.update_or_create(
            run_id=run.id,
            defaults={
                "tenant_id": run.tenant_id,
                "workspace_id": run.workspace_id,
                "log_text": text,
                "log_at": timezone.now(),
            },
        )


def test_the_timeline_shows_each_event_of_the_run_in_order_with_who_and_why(world):
    paused = world.objects["acme_run_paused"]
    page = client_of(world.users["viewer"]).get(reverse("admin:console-run-state", args=[paused])).content.decode()
    timeline = page[page.index('id="run-timeline"') :]
    steps = [
        "Requested",
        "Submitting to the engine (attempt 1)",
        "The engine accepted the job",
        'data-state="RUNNING"',
        "Pause requested",
        'data-state="PAUSED"',
    ]
    places = [timeline.index(step) for step in steps]
    assert places == sorted(places), list(zip(steps, places, strict=True))
    assert len(re.findall(r"data-step=", timeline)) == 6
    assert "Started by hand" in timeline and "Seen on the engine" in timeline  # why
    assert "Control plane" in timeline  # who: the world's writers act as the control plane


def test_the_throughput_is_the_rate_between_the_last_two_samples_and_the_api_shows_no_samples(world):
    running = Run.unscoped.get(id=world.objects["acme_run_running"])
    url = reverse("admin:console-run-state", args=[running.id])
    client = client_of(world.users["viewer"])
    start = timezone.now() - timedelta(seconds=30)
    sample(running, start, 100, 1000)
    assert 'data-metric="records-in-rate">—<' in client.get(url).content.decode()  # one sample: no rate yet
    sample(running, start + timedelta(seconds=10), 600, 6000)
    sample(running, start + timedelta(seconds=20), 800, 9000)  # the newest pair: 200 records and 3000 bytes in 10 s
    page = client.get(url).content.decode()
    assert 'data-metric="records-in">800<' in page and 'data-metric="records-out-rate">20.0<' in page
    assert "data-settled" not in page  # running: refreshed every few seconds
    assert 'data-metric="records-in-rate">20.0<' in page and "300\xa0bytes" in page
    answer = client.get(
        f"/api/v1/tenants/acme/workspaces/{world.acme_ws.slug}/runs/{running.id}/", **world.auth("viewer")
    )
    assert answer.status_code == 200, answer.content[:300]
    live = answer.json()["live_metrics"]
    assert live["source_received_count"] == 800 and "samples" not in live


def test_the_log_tail_is_escaped_and_bounded(world):
    run = Run.unscoped.get(id=world.objects["acme_run_unknown"])
    lines = [f"line {n}" for n in range(1, 201)] + ["x" * 2000, "<script>alert(1)</script>"]
    set_log(run, "\n".join(lines) + "\n")
    page = client_of(world.users["viewer"]).get(reverse("admin:console-run", args=[run.id])).content.decode()
    log = page[page.index('class="console-log"') :]
    log = log[: log.index("</pre>")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in log and "<script>alert" not in log
    assert "line 200" in log and "line 123\n" in log and "line 122\n" not in log  # the last 80 lines only
    assert "x" * 499 + "…" in log and "x" * 500 not in log
    assert "The last 80 lines, read" in page


def test_a_failed_runs_page_shows_its_matched_fault_explained_in_the_users_language(world):
    failed = _failed_run_of_a_new_job(world, "missing-plugin", error=SAMPLES["plugin_not_found"][0])
    url = reverse("admin:console-run", args=[failed.id])
    for language, library in (("en", "en"), ("zh-hans", "zh-Hans")):
        expected = run_fault(failed, language=library)
        assert expected is not None and expected["id"] == "plugin_not_found"
        page = client_of(world.users["viewer"], language).get(url).content.decode()
        fault = page[page.index('id="run-fault"') :]
        assert escape(expected["explanation"]) in fault and escape(expected["fix"]) in fault
        if language == "zh-hans":
            assert untranslated(page) == []


def _failed_run_of_a_new_job(world, name: str, error: str = "no") -> Run:  # type: ignore[no-untyped-def]
    meta = Metadata.for_system(world.acme.id, reason="test", workspace_id=world.acme_ws.id)
    job_id = jobs.do_create_job(
        metadata=meta,
        tenant_id=world.acme.id,
        workspace_id=world.acme_ws.id,
        name=name,
        cluster_id=world.objects["acme_cluster"],
        config=FAKE_TO_CONSOLE,
    )
    run_id = run_actions.do_start_run(metadata=meta, job=Job.unscoped.get(id=job_id))
    run_actions.do_record_run_submission_started(metadata=meta, run=Run.unscoped.get(id=run_id))
    run_actions.do_record_run_submit_failed(
        metadata=meta, run=Run.unscoped.get(id=run_id), code="ZETA_REQUEST_REJECTED", message=error
    )
    return Run.unscoped.get(id=run_id)


def test_reproduce_is_a_post_to_the_apis_writer_that_creates_a_run_and_is_audited(world):
    failed = _failed_run_of_a_new_job(world, "reproduced")
    client = client_of(world.users["operator"])
    assert 'data-action="reproduce"' in client.get(reverse("admin:console-run", args=[failed.id])).content.decode()
    response = client.post(reverse("admin:console-run-reproduce", args=[failed.id]))
    (new,) = Run.unscoped.filter(reproduces=failed.id)
    assert response.status_code == 302 and response["Location"] == reverse("admin:console-run", args=[new.id])
    assert (new.reason, new.started_by, new.manifest["config_text"]) == (
        "reproduce",
        "user:operator-user",
        failed.manifest["config_text"],
    )
    record = AuditRecord.objects.filter(action="console.reproduce", resource_id=failed.id).latest("id")
    assert (record.result, record.actor_id, record.tenant_id) == ("ok", "operator-user", world.acme.id)
    timeline = client.get(reverse("admin:console-run-state", args=[new.id])).content.decode()
    assert "A reproduction" in timeline and reverse("admin:console-run", args=[failed.id]) in timeline


def test_a_viewer_has_no_reproduce_button_and_a_forged_post_is_refused_and_audited(world):
    failed = _failed_run_of_a_new_job(world, "not-reproduced")
    viewer = client_of(world.users["viewer"])
    assert 'data-action="reproduce"' not in viewer.get(reverse("admin:console-run", args=[failed.id])).content.decode()
    refused = viewer.post(reverse("admin:console-run-reproduce", args=[failed.id]))
    assert refused.status_code == 403 and "job.run" in refused.content.decode()
    assert not Run.unscoped.filter(reproduces=failed.id).exists()
    record = AuditRecord.objects.filter(action="console.reproduce", resource_id=failed.id).latest("id")
    assert (record.result, record.error_code) == ("denied", "PERMISSION_DENIED")


def test_another_tenants_run_is_not_found_on_every_run_url(world):
    beta_run = world.objects["beta_run_failed"]
    client = client_of(world.users["operator"])
    for name in ("console-run", "console-run-state"):
        assert client.get(reverse(f"admin:{name}", args=[beta_run])).status_code == 404, name
    assert client.post(reverse("admin:console-run-reproduce", args=[beta_run])).status_code == 404
    assert not Run.unscoped.filter(reproduces=beta_run).exists()
    record = AuditRecord.objects.filter(action="console.reproduce", resource_id=beta_run).latest("id")
    assert (record.result, record.error_code) == ("denied", "NOT_FOUND")


def test_the_run_pages_have_no_english_of_their_own_in_chinese(world):
    running, paused = world.objects["acme_run_running"], world.objects["acme_run_paused"]
    urls = [
        reverse("admin:console-run", args=[running]),
        reverse("admin:console-run-state", args=[running]),
        reverse("admin:console-run", args=[paused]),
        reverse("admin:console-run", args=[world.objects["acme_run_unknown"]]),
    ]
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client = client_of(world.users["owner"], language)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            html = response.content.decode()
            found = untranslated(html if 'id="console-page"' in html else f'<div id="console-page">{html}</div>')
            assert bool(found) == expect_english, (language, url, found)


def test_a_finished_run_shows_the_engines_final_counts_over_an_older_live_reading(world):
    meta = Metadata.for_system(world.acme.id, reason="test", workspace_id=world.acme_ws.id)
    run = Run.unscoped.get(id=world.objects["acme_run_pending"])
    sample(run, timezone.now() - timedelta(seconds=5), 7, 70)  # the last live reading, before the end
    run_actions.do_record_run_submission_started(metadata=meta, run=run)
    run_actions.do_record_run_submitted(metadata=meta, run=Run.unscoped.get(id=run.id), found_by_reconcile=False)
    final = {"source_received_count": 16, "sink_write_count": 16, "source_received_bytes": 160}
    run_actions.do_record_run_observed(
        metadata=meta, run=Run.unscoped.get(id=run.id), engine_state=EngineState.FINISHED, error=None, metrics=final
    )
    page = client_of(world.users["viewer"]).get(reverse("admin:console-run-state", args=[run.id])).content.decode()
    assert 'data-state="SUCCEEDED"' in page and "data-settled" in page  # console.js stops refreshing it
    assert 'data-metric="records-in">16<' in page and 'data-metric="records-in-rate">—<' in page


def test_the_runs_list_filters_by_job_state_and_cluster_and_links_each_runs_cluster(world, monkeypatch):
    client, url = client_of(world.users["owner"]), reverse("admin:console-runs")
    job, failed = world.objects["acme_job"], world.objects["acme_run_failed"]
    run_link = reverse("admin:console-run", args=[failed])
    of_job = client.get(url, {"job": job}).content.decode()
    assert run_link in of_job and reverse("admin:console-cluster", args=[world.objects["acme_cluster"]]) in of_job
    assert 'name="job" value="' + job + '"' in of_job  # the filter kept by the form
    assert run_link not in client.get(url, {"job": world.objects["acme_scheduled_job"]}).content.decode()
    assert run_link in client.get(url, {"state": "FAILED"}).content.decode()
    assert run_link not in client.get(url, {"state": "SUCCEEDED"}).content.decode()
    assert run_link not in client.get(url, {"cluster": "no-such-cluster"}).content.decode()
    assert (
        reverse("admin:console-runs") + "?job=" + job
        in client.get(reverse("admin:console-job", args=[job])).content.decode()
    )
    monkeypatch.setattr(runs_page, "PAGE_ROWS", 1)
    first = client.get(url, {"job": job}).content.decode()
    assert re.search(rf'<a href="\?job={job}&amp;page=2" data-page="2">', first)
