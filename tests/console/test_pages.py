"""The console's tenant pages (controlplane/console/pages/): who signs in, who sees what, and buttons that call the
same writers as the API, refused by the server when the role lacks the point."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.jobs.models import Run
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Workspace
from tests.api.world import world_for_module

pytestmark = pytest.mark.django_db

PAGES = ("console-dashboard", "console-jobs", "console-runs")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def client_of(user: User) -> Client:
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def test_a_tenant_member_signs_in_with_the_login_form_and_a_user_of_no_tenant_is_refused(world):
    for name in ("member", "nobody"):
        User.objects.create_user(name, password="a long password 123")
    iam.do_grant_role(
        user=User.objects.get(username="member"),
        tenant=world.acme,
        role="viewer",
        metadata=Metadata.for_system(None, reason="test"),
    )
    client = Client(SERVER_NAME="localhost")
    url = reverse("admin:login")
    entered = client.post(url, {"username": "member", "password": "a long password 123", "next": "/admin/"})
    assert entered.status_code == 302, entered.context["form"].errors if entered.context else entered.content[:500]
    assert client.get(reverse("admin:console-dashboard")).status_code == 200
    refused = Client(SERVER_NAME="localhost").post(url, {"username": "nobody", "password": "a long password 123"})
    assert refused.status_code == 200 and "not a member of any tenant" in refused.content.decode()


def test_every_page_renders_for_each_role_and_shows_only_the_users_tenant(world):
    acme_job, beta_job = world.objects["acme_job"], world.objects["beta_job"]
    for who in ("viewer", "operator", "admin", "owner", "outsider", "acme-job-operator", "root"):
        client = client_of(world.users[who])
        for name in PAGES:
            response = client.get(reverse(f"admin:{name}"))
            assert response.status_code == 200, (who, name, response.status_code)
        jobs = client.get(reverse("admin:console-jobs")).content.decode()
        if who == "outsider":
            assert beta_job in jobs and acme_job not in jobs
            assert client.get(reverse("admin:console-job", args=[acme_job])).status_code == 404
        elif who != "root":  # root's first tenant (by slug) is acme as well
            assert acme_job in jobs and beta_job not in jobs
            assert client.get(reverse("admin:console-job", args=[beta_job])).status_code == 404


def test_a_scheduled_jobs_page_shows_its_cron_and_next_fire_time(world):
    client = client_of(world.users["viewer"])
    client.cookies["console_tz"] = "Asia/Shanghai"
    page = client.get(reverse("admin:console-job", args=[world.objects["acme_scheduled_job"]])).content.decode()
    assert "0 2 * * * (UTC)" in page  # 02:00 UTC is 10:00 in Shanghai
    assert re.search(r"next run <span translate=\"no\">\d{4}-\d\d-\d\d 10:00:00 CST", page)


def test_a_role_on_one_job_sees_that_job_only(world):
    client = client_of(world.users["acme-job-operator"])
    jobs = client.get(reverse("admin:console-jobs")).content.decode()
    assert world.objects["acme_job"] in jobs and world.objects["acme_scheduled_job"] not in jobs
    assert client.get(reverse("admin:console-job", args=[world.objects["acme_scheduled_job"]])).status_code == 404


def test_the_platform_pages_are_for_platform_administrators_only(world):
    url = reverse("admin:jobs_run_changelist")
    assert client_of(world.users["owner"]).get(url).status_code == 403
    assert client_of(world.users["root"]).get(url).status_code == 200


def test_the_switcher_keeps_only_a_tenant_the_user_may_see(world):
    client = client_of(world.users["viewer"])
    client.post(reverse("admin:console-scope"), {"tenant": world.beta.id})
    jobs = client.get(reverse("admin:console-jobs")).content.decode()
    assert world.objects["acme_job"] in jobs and world.objects["beta_job"] not in jobs
    root = client_of(world.users["root"])
    root.post(reverse("admin:console-scope"), {"tenant": world.beta.id, "workspace": world.beta_ws.id})
    assert world.objects["beta_job"] in root.get(reverse("admin:console-jobs")).content.decode()


def test_a_viewer_has_no_run_button_and_a_forged_post_is_refused_and_audited(world):
    job = world.objects["acme_job"]
    client = client_of(world.users["viewer"])
    assert 'data-action="run"' not in client.get(reverse("admin:console-job", args=[job])).content.decode()
    before = Run.unscoped.filter(job_id=job).count()
    refused = client.post(reverse("admin:console-job-run", args=[job]))
    assert refused.status_code == 403 and "job.run" in refused.content.decode()
    assert Run.unscoped.filter(job_id=job).count() == before
    record = AuditRecord.objects.filter(action="console.run", resource_id=job).latest("id")
    assert (record.result, record.error_code, record.tenant_id) == ("denied", "PERMISSION_DENIED", world.acme.id)


def test_an_operator_runs_a_job_through_the_same_writer_as_the_api(world):
    job = world.objects["acme_scheduled_job"]  # no run yet (the other job has one running: no overlap)
    client = client_of(world.users["operator"])
    assert 'data-action="run"' in client.get(reverse("admin:console-job", args=[job])).content.decode()
    before = set(Run.unscoped.filter(job_id=job).values_list("id", flat=True))
    response = client.post(reverse("admin:console-job-run", args=[job]))
    (run_id,) = set(Run.unscoped.filter(job_id=job).values_list("id", flat=True)) - before
    assert response.status_code == 302 and response["Location"] == reverse("admin:console-run", args=[run_id])
    run = Run.unscoped.get(id=run_id)
    assert run.started_by == "user:operator-user" and run.reason == "manual"
    record = AuditRecord.objects.filter(action="console.run", resource_id=job).latest("id")
    assert (record.result, record.actor_id, record.tenant_id) == ("ok", "operator-user", world.acme.id)
    page = client.get(reverse("admin:console-run", args=[run_id])).content.decode()
    assert f'data-live="/ws/v1/runs/{run_id}/"' in page and 'data-action="stop"' in page
    assert "FakeSource" in page and "source: FakeSource" in page  # the manifest: config text and connectors
    assert (
        'data-action="stop"'
        not in client_of(world.users["viewer"]).get(reverse("admin:console-run", args=[run_id])).content.decode()
    )
    stopped = client_of(world.users["viewer"]).post(reverse("admin:console-run-stop", args=[run_id]))
    assert stopped.status_code == 403 and Run.unscoped.get(id=run_id).state == run.state


def test_the_audit_page_is_the_tenants_trail_with_the_apis_filters(world):
    assert client_of(world.users["operator"]).get(reverse("admin:console-audit")).status_code == 403
    client = client_of(world.users["owner"])
    assert client.post(reverse("admin:console-job-run", args=["no-such-job"])).status_code == 404
    client_of(world.users["viewer"]).post(reverse("admin:console-job-run", args=[world.objects["acme_job"]]))
    page = client.get(reverse("admin:console-audit"), {"result": "denied"}).content.decode()
    assert client.get(reverse("admin:console-audit"), {"since": "yesterday"}).status_code == 200
    denied = AuditRecord.objects.filter(tenant_id=world.acme.id, result="denied").latest("id")
    assert denied.action in page and denied.occurred_at is not None
    assert 'data-state="ok"' not in page  # filtered: denied records only


def test_times_are_shown_in_the_browsers_time_zone_and_a_made_up_zone_is_ignored(world):
    client = client_of(world.users["operator"])
    url = reverse("admin:console-run", args=[world.objects["acme_run_running"]])
    client.cookies["console_tz"] = "Asia/Shanghai"
    assert " CST" in client.get(url).content.decode()
    client.cookies["console_tz"] = "Mars/Olympus"
    assert " UTC" in client.get(url).content.decode()


def test_each_run_offers_the_buttons_its_state_allows_and_they_call_the_apis_writers(world):
    operator, viewer = client_of(world.users["operator"]), client_of(world.users["viewer"])
    expected = {"running": {"pause", "stop"}, "paused": {"resume", "stop"}, "failed": {"retry"}, "pending": {"stop"}}
    for name, buttons in expected.items():
        url = reverse("admin:console-run", args=[world.objects[f"acme_run_{name}"]])
        found = set(re.findall(r'data-action="(\w+)"', operator.get(url).content.decode()))
        assert found == buttons | {"reproduce"}, name  # any run can be reproduced
        assert "data-action" not in viewer.get(url).content.decode(), name
    paused = world.objects["acme_run_paused"]
    assert viewer.post(reverse("admin:console-run-resume", args=[paused])).status_code == 403
    assert Run.unscoped.get(id=paused).state == "PAUSED"
    # do_resume_run accepts and queues the submit from the savepoint (the worker moves the state on).
    resumed = operator.post(reverse("admin:console-run-resume", args=[paused]), follow=True)
    assert [str(m) for m in resumed.context["messages"]] == ["Resume requested."]
    assert AuditRecord.objects.filter(action="console.resume", resource_id=paused).latest("id").result == "ok"
    failed = world.objects["acme_run_failed"]
    # The job has runs still active, so do_retry_run refuses (no overlap unless asked): a message, no new run.
    retried = operator.post(reverse("admin:console-run-retry", args=[failed]), follow=True)
    (message,) = [str(m) for m in retried.context["messages"]]
    assert message.startswith("Refused: RUN_ACTIVE_EXISTS")
    assert not Run.unscoped.filter(retry_of=failed).exists()
    record = AuditRecord.objects.filter(action="console.retry", resource_id=failed).latest("id")
    assert (record.result, record.error_code) == ("failed", "RUN_ACTIVE_EXISTS")
    running = world.objects["acme_run_running"]
    operator.post(reverse("admin:console-run-pause", args=[running]))
    assert Run.unscoped.get(id=running).state == "STOPPING"


def test_a_button_the_state_refuses_comes_back_as_a_message_and_is_audited_as_failed(world):
    client = client_of(world.users["operator"])
    failed = world.objects["acme_run_failed"]
    url = reverse("admin:console-run", args=[failed])
    answer = client.post(reverse("admin:console-run-resume", args=[failed]), {"next": url}, follow=True)
    assert answer.redirect_chain == [(url, 302)]
    assert "Refused: RUN_TRANSITION_ILLEGAL: only a PAUSED run is resumed" in answer.content.decode()
    record = AuditRecord.objects.filter(action="console.resume", resource_id=failed).latest("id")
    assert (record.result, record.error_code) == ("failed", "RUN_TRANSITION_ILLEGAL")


def test_a_member_of_one_workspace_gets_that_workspace_chosen_and_no_all_workspaces(world):
    other = tenancy.do_create_workspace(
        metadata=Metadata.for_system(None, reason="test"), tenant_id=world.acme.id, name="Other", slug="other"
    )
    member = User.objects.create_user("ws-member")
    iam.do_grant_role(
        user=member,
        tenant=world.acme,
        role="operator",
        workspace=Workspace.objects.get(id=other),
        metadata=Metadata.for_system(None, reason="test"),
    )
    client = client_of(member)
    page = client.get(reverse("admin:console-jobs")).content.decode()
    assert "All workspaces" not in page and f'value="{other}"' in page and f'value="{world.acme_ws.id}"' not in page
    assert world.objects["acme_job"] not in page  # the job is in the other workspace
    assert client.get(reverse("admin:console-job", args=[world.objects["acme_job"]])).status_code == 404
    client.post(reverse("admin:console-scope"), {"tenant": world.acme.id, "workspace": world.acme_ws.id})
    assert world.objects["acme_job"] not in client.get(reverse("admin:console-jobs")).content.decode()
    assert client.post(reverse("admin:console-job-run", args=[world.objects["acme_job"]])).status_code == 404
    record = AuditRecord.objects.filter(action="console.run", resource_id=world.objects["acme_job"]).latest("id")
    assert (record.result, record.error_code, record.actor_id) == ("denied", "NOT_FOUND", "ws-member")


def test_the_audit_page_links_the_apis_export_with_its_filters_for_those_who_may_export(world):
    owner = client_of(world.users["owner"])
    page = owner.get(reverse("admin:console-audit"), {"result": "denied"}).content.decode()
    link = re.search(r'href="([^"]+)"[^>]*data-action="export"', page).group(1).replace("&amp;", "&")
    assert link == "/api/v1/tenants/acme/audit/export/?result=denied&format=csv"
    exported = owner.get(link)
    assert exported.status_code == 200 and exported["Content-Type"] == "text/csv"
    assert b"".join(exported.streaming_content).startswith(b"id,")
    assert AuditRecord.objects.filter(action="audit.export", tenant_id=world.acme.id).exists()


def test_the_jobs_list_searches_filters_by_mode_and_links_each_jobs_latest_run(world):
    client = client_of(world.users["viewer"])
    page = client.get(reverse("admin:console-jobs")).content.decode()
    newest = Run.unscoped.filter(job_id=world.objects["acme_job"]).order_by("-created_at").first()
    assert reverse("admin:console-run", args=[newest.id]) in page
    assert world.objects["acme_scheduled_job"] in page
    found = client.get(reverse("admin:console-jobs"), {"q": "night"}).content.decode()
    assert world.objects["acme_scheduled_job"] in found and world.objects["acme_job"] not in found
    assert (
        world.objects["acme_job"]
        not in client.get(reverse("admin:console-jobs"), {"mode": "STREAMING"}).content.decode()
    )
    assert world.objects["acme_job"] in client.get(reverse("admin:console-jobs"), {"mode": "BATCH"}).content.decode()


def lit(client: Client, entry: str, url: str) -> bool:
    """Whether the sidebar's entry linking to ``entry`` is lit (unfold's ``active`` class) on the page at ``url``."""
    page = client.get(url).content.decode()
    link = re.search(f'<a href="{entry}" class="([^"]*)"', page)
    assert link is not None, (entry, url)
    return "active" in link.group(1).split()


def test_the_sidebars_dashboard_entry_is_lit_on_the_dashboard_only(world):
    client, dashboard = client_of(world.users["viewer"]), reverse("admin:console-dashboard")
    assert lit(client, dashboard, dashboard)
    for name in ("admin:console-jobs", "admin:console-runs", "admin:console-alerts"):
        assert not lit(client, dashboard, reverse(name)), name
    jobs = reverse("admin:console-jobs")
    assert lit(client, jobs, jobs) and lit(client, jobs, reverse("admin:console-job", args=[world.objects["acme_job"]]))
