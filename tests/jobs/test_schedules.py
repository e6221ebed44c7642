"""Cron schedules: validation, time zones, exactly-once firing, no overlap, missed fire times, the API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.test import Client

from controlplane.errors import DomainError
from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs import actions
from controlplane.jobs.actions import Fired
from controlplane.jobs.domain.schedule import check, due, next_fire_times
from controlplane.jobs.models import Job, JobSchedule, Run
from controlplane.jobs.schedules import fire_due
from tests.api.world import World, build_world
from tests.eventlog.fingerprint import read_model_fingerprint

JOBS = "/api/v1/tenants/acme/workspaces/etl/jobs/"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "zone", "field"),
    [
        ("61 * * * *", "UTC", "cron"),
        ("* * * *", "UTC", "cron"),
        ("*/10 * * * * *", "UTC", "cron"),  # seconds are not offered: a beat tick is coarser
        ("0 2 * * *", "Mars/Olympus", "timezone"),
        ("@daily", "UTC", "cron"),
    ],
)
def test_bad_expressions_and_zones_are_refused_with_the_field(cron, zone, field):
    with pytest.raises(DomainError) as info:
        check(cron, zone)
    assert info.value.code == "JOB_SCHEDULE_INVALID"
    assert info.value.details["field"] == field


def test_fire_times_follow_the_wall_clock_of_the_zone():
    # 02:00 in Shanghai is 18:00 UTC the day before, all year
    assert next_fire_times("0 2 * * *", "Asia/Shanghai", utc(2026, 11, 26), 2) == [
        utc(2026, 11, 26, 18),
        utc(2026, 11, 27, 18),
    ]
    # 09:00 in New York moves from 13:00 UTC (EDT) to 14:00 UTC (EST) across the 2026-11-01 change
    before, after = next_fire_times("0 9 * * *", "America/New_York", utc(2026, 10, 31, 12), 2)
    assert (before.hour, after.hour) == (13, 14)


def test_after_an_outage_only_the_latest_fire_time_runs_and_the_rest_are_counted():
    assert due("*/5 * * * *", "UTC", utc(2026, 11, 26, 0, 0), utc(2026, 11, 26, 0, 17)) == (
        utc(2026, 11, 26, 0, 15),
        2,
    )
    assert due("*/5 * * * *", "UTC", utc(2026, 11, 26, 0, 15), utc(2026, 11, 26, 0, 19)) == (None, 0)


@pytest.fixture
def world(db) -> World:
    return build_world()


def _job(world: World) -> Job:
    """The world's job without runs (its other jobs have active runs, which a schedule would not overlap)."""
    return Job.unscoped.get(id=world.objects["acme_scheduled_job"])


def _fire(world: World, moment: datetime) -> list[Fired]:
    """fire_due, keeping what concerns this job (the other tenant's nightly schedule may come due too)."""
    return [d for d in fire_due(moment) if d.job_id == world.objects["acme_scheduled_job"]]


def _runs(world: World):  # type: ignore[no-untyped-def]
    return Run.unscoped.filter(job_id=world.objects["acme_scheduled_job"])


def _meta() -> Metadata:
    return Metadata.for_system(None, reason="tests")


def _schedule(world: World, **extra) -> JobSchedule:
    actions.do_set_schedule(metadata=_meta(), job=_job(world), cron=extra.pop("cron", "*/5 * * * *"), **extra)
    return JobSchedule.unscoped.get(job_id=world.objects["acme_scheduled_job"])


def schedule_events(job_id: str) -> list[str]:
    rows = Event.objects.filter(stream_id=f"job-{job_id}", event_type__startswith="jobs.job_schedule_")
    rows = rows.order_by("position")
    return list(rows.values_list("event_type", flat=True))


def test_a_fire_time_starts_one_run_and_only_once(world):
    row = _schedule(world)
    first = row.next_fire_at
    assert _fire(world, first - timedelta(seconds=1)) == []  # not yet
    done = _fire(world, first + timedelta(seconds=3))
    assert len(done) == 1 and done[0].skipped is None
    run = Run.unscoped.get(id=done[0].run_id)
    assert (run.reason, run.state, run.started_by) == ("schedule", "PENDING", "system:jobs.fire_schedules")
    assert _fire(world, first + timedelta(seconds=4)) == []  # handled: the same fire time never runs twice
    row.refresh_from_db()
    assert row.last_fire_at == first and row.next_fire_at == first + timedelta(minutes=5)
    assert row.last_run_id == run.id
    # set (by the world and again above), then fired once
    assert schedule_events(row.job_id)[-2:] == ["jobs.job_schedule_set", "jobs.job_schedule_fired"]
    assert schedule_events(row.job_id).count("jobs.job_schedule_fired") == 1


def test_no_overlap_by_default_a_fire_time_is_skipped_and_says_why(world):
    row = _schedule(world)
    first = row.next_fire_at
    _fire(world, first)
    second = first + timedelta(minutes=5)
    done = _fire(world, second)
    assert done[0].run_id is None and done[0].skipped.startswith("RUN_ACTIVE_EXISTS")
    assert _runs(world).count() == 1
    row.refresh_from_db()
    assert row.last_skipped.startswith("RUN_ACTIVE_EXISTS") and row.next_fire_at == second + timedelta(minutes=5)


def test_overlap_when_allowed(world):
    row = _schedule(world, allow_overlap=True)
    _fire(world, row.next_fire_at)
    _fire(world, row.next_fire_at + timedelta(minutes=5))
    assert _runs(world).filter(reason="schedule").count() == 2


def test_missed_fire_times_are_counted_not_made_up(world):
    row = _schedule(world)
    done = _fire(world, row.next_fire_at + timedelta(minutes=31))
    assert len(done) == 1 and _runs(world).count() == 1
    row.refresh_from_db()
    assert row.missed == 6


def test_a_disabled_schedule_does_not_fire_and_enabling_does_not_make_up_the_past(world):
    row = _schedule(world, enabled=False)
    assert row.next_fire_at is None
    assert _fire(world, datetime.now(UTC) + timedelta(hours=2)) == []
    row = _schedule(world, enabled=True)
    assert row.next_fire_at > datetime.now(UTC)


def test_schedule_read_models_rebuild_row_for_row(world):
    row = _schedule(world)
    _fire(world, row.next_fire_at)
    before = read_model_fingerprint()
    rebuild()
    assert read_model_fingerprint() == before


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_fire_a_time_once():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers in one process; the race is run on PostgreSQL and MariaDB")
    world = build_world()
    row = _schedule(world)
    moment = row.next_fire_at + timedelta(seconds=1)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            barrier.wait()
            fire_due(moment)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _runs(world).filter(reason="schedule").count() == 1


def test_the_schedule_api(world):
    client = Client(SERVER_NAME="localhost")
    url = f"{JOBS}{world.objects['acme_job']}/schedule/"
    assert client.get(url, **world.auth("viewer")).json()["error"]["code"] == "JOB_SCHEDULE_NOT_FOUND"
    bad = client.put(url, {"cron": "0 25 * * *"}, content_type="application/json", **world.auth("admin"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "JOB_SCHEDULE_INVALID"
    assert bad.json()["error"]["details"]["field"] == "cron"
    body = {"cron": "30 1 * * 1-5", "timezone": "Asia/Shanghai"}
    ok = client.put(url, body, content_type="application/json", **world.auth("admin"))
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert len(body["upcoming"]) == 5 and body["upcoming"][0].endswith("17:30:00+00:00")  # 01:30 Beijing time
    denied = client.put(url, {"cron": "* * * * *"}, content_type="application/json", **world.auth("viewer"))
    assert denied.status_code == 403
    assert client.delete(url, **world.auth("admin")).status_code == 204
    assert not JobSchedule.unscoped.filter(job_id=world.objects["acme_job"]).exists()
    assert schedule_events(world.objects["acme_job"])[-1] == "jobs.job_schedule_removed"
