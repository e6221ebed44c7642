"""The dashboard's firing alerts and charts: runs over time by outcome and the records/s of running streaming jobs,
for the tenant the user chose only, in English and Chinese."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import actions as jobs
from controlplane.jobs import run_actions
from controlplane.jobs.models import Job, Run, RunTelemetry
from controlplane.jobs.runner import _save_telemetry
from controlplane.seatunnel.states import JobState as EngineState
from tests.api.world import world_for_module
from tests.console.test_run_pages import client_of
from tests.console.test_translations import untranslated

pytestmark = pytest.mark.django_db

STREAMING = """
env { job.mode = "STREAMING", parallelism = 1 }
source { FakeSource { plugin_output = "fake", row.num = 16, schema = { fields { name = "string" } } } }
sink { Console { plugin_input = "fake" } }
"""


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def dashboard(world, who: str = "owner", language: str = "en") -> str:  # type: ignore[no-untyped-def]
    return client_of(world.users[who], language).get(reverse("admin:console-dashboard")).content.decode()


def test_firing_alerts_are_listed_for_their_tenant_only(world):
    page = dashboard(world)
    alerts = page[page.index('id="firing-alerts"') :]
    alerts = alerts[: alerts.index("</section>")]
    assert "SeaTunnelNodeDown" in alerts and f'data-alert="{world.objects["acme_alert"]}"' in alerts
    assert reverse("admin:console-alerts") in alerts
    assert reverse("admin:console-alert", args=[world.objects["acme_alert"]]) in alerts
    assert f'data-alert="{world.objects["beta_alert"]}"' not in page
    beta = dashboard(world, "outsider")
    assert f'data-alert="{world.objects["beta_alert"]}"' in beta and world.objects["acme_alert"] not in beta


def test_runs_over_time_stacks_this_tenants_runs_by_outcome_in_the_current_hour_and_day(world):
    page = dashboard(world)
    chart = page[page.index('id="runs-over-time"') :]
    chart = chart[: chart.index("</section>")]
    svgs = re.findall(r"<svg .*?</svg>", chart, re.S)
    assert len(svgs) == 2 and all('role="img"' in s and "<title>" in s and "aria-label=" in s for s in svgs)
    acme = Run.unscoped.filter(tenant_id=world.acme.id)
    failed = acme.filter(state="FAILED").count()
    others = acme.exclude(state__in=("FAILED", "SUCCEEDED", "STOPPED", "CANCELLED")).count()
    for svg in svgs:  # every run was requested just now: all in the last bar of each chart
        assert re.search(rf"· Failed: {failed}</title>", svg) and re.search(rf"· Not finished: {others}</title>", svg)
        assert f">{failed + others}</text>" in svg or "Not finished" in svg
    assert "Succeeded" in chart  # the legend names every outcome


def test_the_buckets_are_the_users_local_hours_and_days(world):
    client = client_of(world.users["owner"])
    client.cookies["console_tz"] = "Asia/Shanghai"  # UTC+8: local hours and midnights differ from the server's UTC
    zone = ZoneInfo("Asia/Shanghai")
    before = timezone.now().astimezone(zone)
    page = client.get(reverse("admin:console-dashboard")).content.decode()
    after = timezone.now().astimezone(zone)
    hours, days = re.findall(r"<svg .*?</svg>", page[page.index('id="runs-over-time"') :], re.S)[:2]
    failed = Run.unscoped.filter(tenant_id=world.acme.id, state="FAILED").count()
    assert any(f"{t:%H}:00 · Failed: {failed}<" in hours for t in (before, after))  # the current local hour
    assert any(f"{t:%m-%d} · Failed: {failed}<" in days for t in (before, after))  # today, in Shanghai


def test_a_running_streaming_job_has_a_sparkline_of_its_records_per_second(world):
    meta = Metadata.for_system(world.acme.id, reason="test", workspace_id=world.acme_ws.id)
    job_id = jobs.do_create_job(
        metadata=meta,
        tenant_id=world.acme.id,
        workspace_id=world.acme_ws.id,
        name="clicks-stream",
        cluster_id=world.objects["acme_cluster"],
        config=STREAMING,
    )
    run_id = run_actions.do_start_run(metadata=meta, job=Job.unscoped.get(id=job_id))
    run_actions.do_record_run_submission_started(metadata=meta, run=Run.unscoped.get(id=run_id))
    run_actions.do_record_run_submitted(metadata=meta, run=Run.unscoped.get(id=run_id), found_by_reconcile=False)
    run_actions.do_record_run_observed(
        metadata=meta, run=Run.unscoped.get(id=run_id), engine_state=EngineState.RUNNING, error=None, metrics={}
    )
    run = Run.unscoped.get(id=run_id)
    start = timezone.now() - timedelta(seconds=30)
    for seconds, records in ((0, 0), (10, 100), (20, 400)):
        metrics = {"source_received_count": records, "sink_write_count": records}
        row = RunTelemetry(
            run_id=run.id, tenant_id=run.tenant_id, workspace_id=run.workspace_id, metrics=metrics,
            metrics_at=start + timedelta(seconds=seconds),
        )  # fmt: skip
        _save_telemetry([row])
    page = dashboard(world, "viewer")
    part = page[page.index('id="streaming-throughput"') :]
    part = part[: part.index("</section>")]
    assert "clicks-stream" in part and reverse("admin:console-run", args=[run_id]) in part
    assert ">30.0</td>" in part  # the newest rate: 300 records in 10 s
    points = re.search(r'<polyline points="([^"]+)"', part).group(1).split()
    assert points == ["0.0,21.8", "120.0,11.4"]  # 10/s then 30/s on a 0..50 scale
    assert "clicks-stream" not in dashboard(world, "outsider")


def test_the_dashboard_has_no_english_of_its_own_in_chinese(world):
    assert untranslated(dashboard(world, "owner", "en"))
    assert untranslated(dashboard(world, "owner", "zh-hans")) == []


def test_the_dashboard_is_one_live_part_with_links_to_what_it_lists(world):
    page = dashboard(world)
    live = reverse("admin:console-dashboard-live")
    assert f'data-fragment="{live}"' in page and 'data-live="/ws/v1/tenants/acme/activity/"' in page
    assert 'data-refresh="30"' in page  # the throughput moves without events
    fragment = client_of(world.users["owner"]).get(live).content.decode()
    assert "<html" not in fragment and 'id="firing-alerts"' in fragment and 'id="runs-over-time"' in fragment
    assert reverse("admin:console-cluster", args=[world.objects["acme_cluster"]]) in fragment
    assert reverse("admin:console-operation", args=[world.objects["acme_operation"]]) in fragment
    # another tenant's member gets their own tenant's parts only
    other = client_of(world.users["outsider"]).get(live).content.decode()
    assert world.objects["acme_cluster"] not in other and world.objects["acme_alert"] not in other
