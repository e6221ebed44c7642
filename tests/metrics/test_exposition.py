"""/metrics over real HTTP requests through Django's stack: format, token, routes, the gauges read at scrape, and
every exported sample against docs/METRICS.md (names, labels, no id as a label value)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import Metric

from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.jobs.models import Job, Run, RunTelemetry
from controlplane.metrics import collectors
from controlplane.operations import actions as operations
from controlplane.operations import runner
from controlplane.operations.models import Operation
from controlplane.tenancy import actions as tenancy
from tests.api.world import World, world_for_module
from tests.metrics.scrape import documented, samples, scrape_text, value, violations

pytestmark = pytest.mark.django_db
W = "/api/v1/tenants/acme/workspaces/etl"
CLUSTERS_ROUTE = "api/v1/tenants/<slug:tenant>/workspaces/<slug:workspace>/clusters/"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def test_requests_are_counted_by_route_pattern_and_status_never_by_path(client: Client, world: World) -> None:
    before = scrape_text(client)
    listed = client.get(f"{W}/clusters/", **world.auth("viewer"))
    assert listed.status_code == 200
    detail = client.get(f"{W}/clusters/{world.objects['acme_cluster']}/", **world.auth("viewer"))
    assert detail.status_code == 200
    assert client.get("/no/such/page/", **world.auth("viewer")).status_code == 404
    after = scrape_text(client)

    requests = "controlplane_http_requests_total"
    got = value(after, requests, route=CLUSTERS_ROUTE, method="GET", status="200")
    assert got - value(before, requests, route=CLUSTERS_ROUTE, method="GET", status="200") == 1
    assert (
        value(after, requests, route="unmatched", status="404")
        - value(before, requests, route="unmatched", status="404")
        == 1
    )
    # the scrape before counted itself, under its fixed route
    assert (
        value(after, requests, route="metrics", status="200") - value(before, requests, route="metrics", status="200")
        >= 1
    )
    routes = {s.labels["route"] for s in samples(after)["controlplane_http_requests"]}
    detail_routes = [r for r in routes if r.startswith(CLUSTERS_ROUTE) and r != CLUSTERS_ROUTE]
    assert detail_routes, routes  # the detail view has a route of its own, with the id as a placeholder
    assert not [r for r in routes if world.objects["acme_cluster"] in r or "/acme/" in r]
    count = value(after, "controlplane_http_request_duration_seconds_count", route=CLUSTERS_ROUTE, method="GET")
    assert (
        count - value(before, "controlplane_http_request_duration_seconds_count", route=CLUSTERS_ROUTE, method="GET")
        == 1
    )


def test_the_token_guards_the_scrape_when_set(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-012345678X")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-me-0123456789").status_code == 401
    text = scrape_text(client, HTTP_AUTHORIZATION="Bearer scrape-me-0123456789")
    assert "controlplane_http_requests_total" in text
    # scraped by address (Host: 10.0.3.7:8000, not in ALLOWED_HOSTS), as Prometheus does
    by_address = Client(SERVER_NAME="10.0.3.7", SERVER_PORT="8000")
    assert by_address.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456789").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456789").status_code == 405


def test_gauges_read_at_scrape_count_the_rows(client: Client, world: World) -> None:
    text = scrape_text(client)
    for state in ("PENDING", "RUNNING", "PAUSED", "FAILED", "UNKNOWN"):
        in_db = Run.unscoped.filter(state=state).count()
        assert in_db >= 2  # one per tenant in the world
        assert value(text, "controlplane_runs", state=state) == in_db, state
    mode = Job.unscoped.get(id=world.objects["acme_job"]).mode
    assert value(text, "controlplane_runs", mode=mode) == Run.unscoped.count()
    assert value(text, "controlplane_operations", type="testing.steps", state="PENDING") == 2
    assert value(text, "controlplane_agents", status="online") == 2
    assert value(text, "controlplane_clusters", health="unknown") == 2
    assert value(text, "controlplane_clusters", health="reachable") == 0
    # the world's alert received from Alertmanager in each tenant (tests/api/world.py), critical
    assert value(text, "controlplane_alerts_firing", severity="critical") == 2
    assert value(text, "controlplane_alerts_firing", severity="info") == 0
    for part in ("runs", "progress", "operations", "steps", "agents", "clusters", "alerts", "eventlog", "broker"):
        assert value(text, "controlplane_metrics_collector_up", collector=part) == 1, part
    head = Event.objects.order_by("-position").values_list("position", flat=True).first()
    assert value(text, "controlplane_eventlog_head_position") == head
    assert "controlplane_broker_queue_depth" in samples(text)


def test_a_finished_step_lands_in_the_step_duration_histogram(client: Client, world: World, tmp_path: Path) -> None:
    before = scrape_text(client)
    labels = {"kind": "testing.record", "state": "SUCCEEDED"}
    assert value(before, "controlplane_operation_step_duration_seconds_count", **labels) == 0
    steps = [{"key": "a", "kind": "testing.record", "params": {"file": str(tmp_path / "record")}}]
    operation_id = operations.do_request_operation(
        metadata=Metadata.for_system(world.acme.id, reason="tests", workspace_id=world.acme_ws.id),
        cluster=Cluster.unscoped.get(id=world.objects["acme_cluster"]),
        type="testing.steps",
        params={"steps": steps},
    )
    for _ in range(50):
        runner.advance(operation_id)
        if Operation.unscoped.get(id=operation_id).state == "SUCCEEDED":
            break
    assert Operation.unscoped.get(id=operation_id).state == "SUCCEEDED"
    after = scrape_text(client)
    assert value(after, "controlplane_operation_step_duration_seconds_count", **labels) == 1
    buckets = [
        s
        for s in samples(after)["controlplane_operation_step_duration_seconds"]
        if s.name.endswith("_bucket") and s.labels["kind"] == "testing.record"
    ]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf" and counts[-1] == 1
    assert value(after, "controlplane_operations", type="testing.steps", state="SUCCEEDED") == 1
    assert value(after, "controlplane_operations", type="testing.steps", state="PENDING") == 2


def test_running_runs_progress_is_labelled_by_job_name_not_run_id(client: Client, world: World) -> None:
    run = Run.unscoped.get(id=world.objects["acme_run_running"])
    RunTelemetry.unscoped.create(
        run_id=run.id,
        tenant_id=run.tenant_id,
        workspace_id=run.workspace_id,
        metrics={"source_received_count": 1200, "sink_write_count": 1100},
    )
    text = scrape_text(client)
    labels = {"tenant": "acme", "workspace": "etl", "job_name": "fake-to-console"}
    assert value(text, "controlplane_run_source_records_total", **labels) == 1200
    assert value(text, "controlplane_run_sink_records_total", **labels) == 1100
    assert value(text, "controlplane_run_source_records_total", tenant="beta") == 0  # no telemetry there


def test_events_appended_are_counted_by_context_once_committed(
    client: Client,
    world: World,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    before = value(scrape_text(client), "controlplane_events_appended_total", context="tenancy")
    first = Event.objects.order_by("-position").values_list("position", flat=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        tenancy.do_create_tenant(metadata=Metadata.for_system(None, reason="tests"), name="Gamma", slug="gamma")
    appended = Event.objects.filter(position__gt=first, event_type__startswith="tenancy.").count()
    assert appended >= 1
    after = value(scrape_text(client), "controlplane_events_appended_total", context="tenancy")
    assert after - before == appended


def test_an_append_rolled_back_counts_nothing(client: Client, world: World) -> None:
    before = value(scrape_text(client), "controlplane_events_appended_total", context="tenancy")
    # inside the test's transaction, which is never committed: the on-commit count never runs
    tenancy.do_create_tenant(metadata=Metadata.for_system(None, reason="tests"), name="Delta", slug="delta")
    assert value(scrape_text(client), "controlplane_events_appended_total", context="tenancy") == before


def test_every_sample_is_documented_and_no_label_value_is_an_id(client: Client, world: World, settings) -> None:  # type: ignore[no-untyped-def]
    for path in (f"{W}/clusters/", f"{W}/clusters/{world.objects['acme_cluster']}/", f"{W}/jobs/", "/healthz"):
        client.get(path, **world.auth("viewer"))
    run = Run.unscoped.get(id=world.objects["beta_run_running"])  # so that the progress counters are exported too
    RunTelemetry.unscoped.create(
        run_id=run.id, tenant_id=run.tenant_id, workspace_id=run.workspace_id, metrics={"source_received_count": 5}
    )
    text = scrape_text(client)
    doc = documented()
    assert violations(text, doc) == []
    exported = set(samples(text))
    ours = {name for name in doc if name.startswith("controlplane_")}
    if settings.REDIS_URL:  # the dead letters are the embedded broker's
        ours.discard("controlplane_broker_dead_letters")
    missing = {n for n in ours if n.removesuffix("_total") not in exported}
    assert missing == set()


def test_the_label_check_catches_an_id_and_an_undocumented_label() -> None:
    registry = CollectorRegistry()
    Counter("controlplane_http_requests_total", "x", ["route", "method", "status"], registry=registry).labels(
        "api/v1/runs/0f3c2a9b6d7e4f10a2b3c4d5e6f70819/", "GET", "200"
    ).inc()
    Counter("controlplane_events_appended_total", "x", ["context", "run"], registry=registry).labels("jobs", "r").inc()
    Counter("controlplane_surprise_total", "x", registry=registry).inc()
    problems = violations(generate_latest(registry).decode(), documented())
    assert any("looks like an id" in p for p in problems)
    assert any("['run'] are not documented" in p for p in problems)
    assert any("controlplane_surprise: not in docs" in p for p in problems)


def test_heartbeat_age_is_the_longest_silence_of_each_status(client: Client, world: World) -> None:
    from controlplane.agents import actions as agents
    from controlplane.agents.domain.catalog import ACTION_TYPES
    from controlplane.agents.selectors import authenticated_agent_for_system

    meta = Metadata.for_system(world.acme.id, reason="tests", workspace_id=world.acme_ws.id)
    now = timezone.now()
    for hostname, silent in (("quiet-node", 95), ("chatty-node", 2)):
        _, token = agents.do_issue_bootstrap_token(
            metadata=meta, tenant_id=world.acme.id, workspace_id=world.acme_ws.id
        )
        registered = agents.do_register_agent(
            bootstrap_token=token,
            hostname=hostname,
            agent_version="0.1.0",
            member_address="",
            allowlist=sorted(ACTION_TYPES),
            facts={},
        )
        agent = authenticated_agent_for_system(registered.credential)
        agents.do_record_heartbeat(
            metadata=agent.metadata(), agent=agent, sent_at="", facts={}, now=now - timedelta(seconds=silent)
        )
    age = value(scrape_text(client), "controlplane_agent_heartbeat_age_seconds_max", status="online")
    assert 95 <= age < 95 + 60  # the quiet one, not the chatty one; less than a minute of test in between


def test_a_part_that_fails_is_left_out_and_said_so(client: Client, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broker_down() -> Iterator[Metric]:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(collectors, "_broker", broker_down)
    text = scrape_text(client)
    assert value(text, "controlplane_metrics_collector_up", collector="broker") == 0
    assert value(text, "controlplane_metrics_collector_up", collector="runs") == 1
    assert "controlplane_broker_queue_depth" not in samples(text)
    assert value(text, "controlplane_runs", state="FAILED") >= 2  # the rest is still there
