"""The console's job pages: create a job by pasting HOCON, JSON or YAML (a refused config comes back with its
problems at their lines and the text kept) or from a template, a new version, compare two versions, roll back,
schedules; each through the API's writer, refused and audited for a role without the point."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from controlplane.audit.models import AuditRecord
from controlplane.console.pages import jobs as jobs_page
from controlplane.jobs.models import Job, JobSchedule, JobVersion, Run
from tests.api.world import FAKE_TO_CONSOLE, world_for_module
from tests.console.test_pages import client_of
from tests.console.test_translations import untranslated

pytestmark = pytest.mark.django_db

CREATE = "admin:console-job-create"
BAD_HOCON = """env {
  job.mode = "BATCH"
}
source {
  FakeSource {
    row.num = = 16
  }
}
sink { Console {} }
"""
JSON_CONFIG = """{
  "env": {"job.mode": "BATCH"},
  "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": 4}],
  "sink": [{"plugin_name": "Console", "plugin_input": "fake"}]
}
"""
YAML_CONFIG = """env:
  job.mode: BATCH
source:
  - plugin_name: FakeSource
    plugin_output: fake
sink:
  - plugin_name: Console
    plugin_input: fake
"""


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def create(client: Client, world, name: str, config: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse(CREATE), {"name": name, "cluster": world.objects["acme_cluster"], "config": config, **extra}
    )


def problem_lines(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-problem-line="(\d+)"', page)]


def test_an_admin_creates_a_job_by_pasting_hocon_through_do_create_job(world):
    client = client_of(world.users["admin"])
    assert 'data-action="create"' in client.get(reverse("admin:console-jobs")).content.decode()
    response = create(client, world, "pasted", FAKE_TO_CONSOLE, message="first")
    job = Job.unscoped.get(name="pasted")
    assert response.status_code == 302 and response["Location"] == reverse("admin:console-job", args=[job.id])
    version = JobVersion.unscoped.get(job_id=job.id, version=1)
    assert (version.text, version.format, version.message, version.author) == (
        FAKE_TO_CONSOLE,
        "hocon",
        "first",
        "user:admin-user",
    )
    record = AuditRecord.objects.filter(action="console.create").latest("id")
    assert (record.result, record.resource_id, record.tenant_id) == ("ok", job.id, world.acme.id)


@pytest.mark.parametrize(
    ("name", "config", "fmt"), [("from-json", JSON_CONFIG, "json"), ("from-yaml", YAML_CONFIG, "yaml")]
)
def test_json_and_yaml_are_accepted_as_pasted(world, name, config, fmt):
    response = create(client_of(world.users["admin"]), world, name, config)
    assert response.status_code == 302
    version = JobVersion.unscoped.get(job_id=Job.unscoped.get(name=name).id)
    assert (version.format, version.text) == (fmt, config)


def test_bad_hocon_shows_its_line_in_a_numbered_listing_and_keeps_the_text(world):
    response = create(client_of(world.users["admin"]), world, "broken", BAD_HOCON, message="keep me")
    page = response.content.decode()
    assert response.status_code == 400 and not Job.unscoped.filter(name="broken").exists()
    assert problem_lines(page) == [6]
    row = re.search(r'data-problem-line="6">(.*?)</tr>', page, re.S).group(1)
    assert "row.num = = 16" in unescape(row) and "Line 6:" in row and "JOB_CONFIG_PARSE_ERROR" in row
    assert unescape(re.search(r'<textarea name="config"[^>]*>(.*?)</textarea>', page, re.S).group(1)) == BAD_HOCON
    assert 'value="keep me"' in page and 'value="broken"' in page
    record = AuditRecord.objects.filter(action="console.create").latest("id")
    assert (record.result, record.error_code) == ("failed", "JOB_CONFIG_INVALID")


def test_bad_json_and_yaml_show_their_lines_and_validation_problems_sit_at_their_paths(world):
    client = client_of(world.users["admin"])
    bad_json = JSON_CONFIG.replace('"row.num": 4}', '"row.num": 4,,}')
    assert problem_lines(create(client, world, "j", bad_json, format="json").content.decode()) == [3]
    bad_yaml = YAML_CONFIG.replace("    plugin_output: fake", "   plugin_output: fake")
    assert problem_lines(create(client, world, "y", bad_yaml, format="yaml").content.decode()) == [5]
    # parsed, but invalid: a misspelt plugin and a dangling input, each at its own line
    invalid = FAKE_TO_CONSOLE.replace("FakeSource", "FakeSorce").replace('plugin_input = "fake"', 'plugin_input = "x"')
    page = create(client, world, "v", invalid).content.decode()
    lines = invalid.splitlines()
    assert problem_lines(page) == [
        lines.index("  FakeSorce {") + 1,
        next(i for i, line in enumerate(lines) if 'plugin_input = "x"' in line) + 1,
    ]
    assert "JOB_CONFIG_PLUGIN_UNKNOWN" in page and "Did you mean FakeSource?" in page


def test_a_name_or_cluster_the_writer_refuses_is_shown_with_the_form_kept(world):
    client = client_of(world.users["admin"])
    no_cluster = client.post(reverse(CREATE), {"name": "lost", "cluster": "", "config": FAKE_TO_CONSOLE})
    assert no_cluster.status_code == 400 and "JOB_CLUSTER_TARGET_INVALID" in no_cluster.content.decode()
    no_name = create(client, world, " ", FAKE_TO_CONSOLE)
    page = no_name.content.decode()
    assert no_name.status_code == 400 and "JOB_NAME_INVALID" in page and 'aria-invalid="true"' in page
    assert FAKE_TO_CONSOLE.strip() in unescape(page)


def test_a_job_from_a_template_and_a_bad_parameter_shown_on_the_form(world):
    client = client_of(world.users["admin"])
    page = client.get(reverse(CREATE), {"template": "fake-to-console"}).content.decode()
    assert 'name="param:row_num"' in page and 'value="16"' in page
    form = {"template": "fake-to-console", "name": "templated", "cluster": world.objects["acme_cluster"]}
    refused = client.post(reverse(CREATE), {**form, "param:row_num": "many"})
    assert refused.status_code == 400 and "JOB_TEMPLATE_PARAMS_INVALID" in refused.content.decode()
    assert 'value="many"' in refused.content.decode()
    record = AuditRecord.objects.filter(action="console.create").latest("id")
    assert (record.result, record.error_code) == ("failed", "JOB_TEMPLATE_PARAMS_INVALID")
    assert client.post(reverse(CREATE), {**form, "param:row_num": "7"}).status_code == 302
    version = JobVersion.unscoped.get(job_id=Job.unscoped.get(name="templated").id)
    assert version.normalised["source"][0]["options"]["row.num"] == 7


def test_a_new_version_from_the_revise_form_and_its_refusal_at_the_right_line(world):
    job = Job.unscoped.get(id=world.objects["acme_scheduled_job"])
    client = client_of(world.users["admin"])
    url = reverse("admin:console-job-revise", args=[job.id])
    assert FAKE_TO_CONSOLE.strip() in unescape(client.get(url).content.decode())
    bad = client.post(url, {"config": BAD_HOCON, "expected": job.version})
    assert bad.status_code == 400 and problem_lines(bad.content.decode()) == [6]
    new_text = FAKE_TO_CONSOLE.replace("16", "64")
    done = client.post(url, {"config": new_text, "message": "bigger", "expected": job.version})
    assert done.status_code == 302
    assert JobVersion.unscoped.get(job_id=job.id, version=2).text == new_text
    stale = client.post(url, {"config": FAKE_TO_CONSOLE, "expected": job.version})  # the form of before v2
    assert stale.status_code == 400 and "EVENTLOG_CONCURRENCY_CONFLICT" in stale.content.decode()


def test_the_diff_shows_changed_lines_and_structural_paths(world):
    job = world.objects["acme_job"]  # v1 row.num = 16, v2 row.num = 32
    page = client_of(world.users["viewer"]).get(reverse("admin:console-job-diff", args=[job]), {"from": 1, "to": 2})
    html = page.content.decode()
    changed = re.findall(r'<tr class="console-diff-changed" data-change="changed">(.*?)</tr>', html, re.S)
    assert len(changed) == 1 and "row.num = 16" in changed[0] and "row.num = 32" in changed[0]
    assert re.search(r"<td[^>]*>(\d+)</td>", changed[0]).group(1) == "9"  # the line number
    paths = re.search(r'id="diff-paths".*?</table>', html, re.S).group(0)
    assert "<code>source[0].row.num</code>" in paths and ">16<" in paths and ">32<" in paths
    assert 'data-action="rollback-confirm"' not in html  # a viewer may compare, not roll back
    assert (
        client_of(world.users["viewer"]).get(reverse("admin:console-job-diff", args=[job]), {"to": 9}).status_code
        == 404
    )


def test_roll_back_after_a_confirmation_creates_the_new_version(world):
    job = Job.unscoped.get(id=world.objects["acme_job"])
    client = client_of(world.users["admin"])
    detail = client.get(reverse("admin:console-job", args=[job.id])).content.decode()
    confirm_url = reverse("admin:console-job-rollback", args=[job.id, 1])
    assert f'href="{confirm_url}"' in detail
    confirm = client.get(confirm_url).content.decode()
    assert 'data-action="roll_back"' in confirm and "row.num = 16" in confirm
    done = client.post(
        reverse("admin:console-job-roll-back", args=[job.id]),
        {"to_version": 1, "expected": job.version, "next": confirm_url},
        follow=True,
    )
    assert [str(m) for m in done.context["messages"]] == ["Version 3 created from version 1."]
    three = JobVersion.unscoped.get(job_id=job.id, version=3)
    assert three.rolled_back_from == 1 and three.text == FAKE_TO_CONSOLE
    assert 'data-version="3"' in done.content.decode()
    again = client.post(
        reverse("admin:console-job-roll-back", args=[job.id]), {"to_version": 3, "next": confirm_url}, follow=True
    )
    assert "JOB_VERSION_CURRENT" in str(next(iter(again.context["messages"])))


def test_a_viewer_sees_no_buttons_and_forged_posts_are_refused_and_audited(world):
    viewer, job = client_of(world.users["viewer"]), world.objects["acme_job"]
    pages = [reverse("admin:console-jobs"), reverse("admin:console-job", args=[job])]
    pages += [reverse("admin:console-job-schedule", args=[job]), reverse("admin:console-job-diff", args=[job])]
    for url in pages:
        html = viewer.get(url).content.decode()
        assert not {"create", "revise", "roll_back", "rollback-confirm", "set_schedule"} & set(
            re.findall(r'data-action="([\w-]+)"', html)
        ), url
    assert viewer.get(reverse(CREATE)).status_code == 403
    versions = JobVersion.unscoped.filter(job_id=job).count()
    forged = {
        "create": (
            reverse(CREATE),
            {"name": "forged", "cluster": world.objects["acme_cluster"], "config": FAKE_TO_CONSOLE},
        ),
        "revise": (reverse("admin:console-job-revise", args=[job]), {"config": FAKE_TO_CONSOLE}),
        "roll_back": (reverse("admin:console-job-roll-back", args=[job]), {"to_version": 1}),
        "set_schedule": (reverse("admin:console-job-schedule", args=[job]), {"cron": "* * * * *"}),
        "remove_schedule": (
            reverse("admin:console-job-schedule-remove", args=[world.objects["acme_scheduled_job"]]),
            {},
        ),
    }
    for name, (url, data) in forged.items():
        answer = viewer.post(url, data)
        assert answer.status_code == 403 and "PERMISSION_DENIED" in answer.content.decode(), name
        record = AuditRecord.objects.filter(action=f"console.{name}").latest("id")
        assert (record.result, record.error_code, record.actor_id) == ("denied", "PERMISSION_DENIED", "viewer-user"), (
            name
        )
    assert not Job.unscoped.filter(name="forged").exists()
    assert JobVersion.unscoped.filter(job_id=job).count() == versions
    assert not JobSchedule.unscoped.filter(job_id=job).exists()
    assert JobSchedule.unscoped.filter(job_id=world.objects["acme_scheduled_job"]).exists()


def test_an_operator_runs_jobs_but_does_not_write_them(world):
    # docs/SECURITY.md: a config resolves the workspace's secrets at submission, so writing one is an Admin's point.
    operator, job = client_of(world.users["operator"]), world.objects["acme_job"]
    cluster_page = reverse("admin:console-cluster", args=[world.objects["acme_cluster"]])
    assert cluster_page in operator.get(reverse("admin:console-job", args=[job])).content.decode()  # a link
    assert cluster_page in operator.get(reverse("admin:console-jobs")).content.decode()
    actions = set(
        re.findall(r'data-action="([\w-]+)"', operator.get(reverse("admin:console-job", args=[job])).content.decode())
    )
    assert "run" in actions and not {"revise", "rollback-confirm"} & actions, actions
    assert 'data-action="create"' not in operator.get(reverse("admin:console-jobs")).content.decode()
    assert operator.get(reverse(CREATE)).status_code == 403
    answer = operator.post(
        reverse(CREATE), {"name": "by-operator", "cluster": world.objects["acme_cluster"], "config": FAKE_TO_CONSOLE}
    )
    assert answer.status_code == 403 and "PERMISSION_DENIED" in answer.content.decode()
    assert not Job.unscoped.filter(name="by-operator").exists()


def test_another_tenants_job_is_404_on_every_job_page(world):
    client, beta_job = client_of(world.users["admin"]), world.objects["beta_job"]
    for name in ("admin:console-job-revise", "admin:console-job-schedule", "admin:console-job-diff"):
        assert client.get(reverse(name, args=[beta_job])).status_code == 404, name
    assert client.get(reverse("admin:console-job-rollback", args=[beta_job, 1])).status_code == 404
    assert client.post(reverse("admin:console-job-roll-back", args=[beta_job]), {"to_version": 1}).status_code == 404
    assert client.post(reverse("admin:console-job-revise", args=[beta_job]), {"config": "x"}).status_code == 404
    assert client.post(reverse("admin:console-job-schedule", args=[beta_job]), {"cron": "* * * * *"}).status_code == 404
    for name in ("revise", "roll_back", "set_schedule"):
        record = AuditRecord.objects.filter(action=f"console.{name}", resource_id=beta_job).latest("id")
        assert (record.result, record.error_code, record.tenant_id) == ("denied", "NOT_FOUND", world.acme.id)
    assert JobVersion.unscoped.filter(job_id=beta_job).count() == 2


def test_a_schedule_is_set_with_its_next_fire_times_and_a_bad_one_is_shown_on_the_form(world):
    job = world.objects["acme_job"]
    client = client_of(world.users["admin"])
    client.cookies["console_tz"] = "UTC"
    url = reverse("admin:console-job-schedule", args=[job])
    bad = client.post(url, {"cron": "0 25 * * *", "timezone": "Asia/Shanghai", "enabled": "on"})
    html = bad.content.decode()
    assert bad.status_code == 400 and "JOB_SCHEDULE_INVALID" in html and 'value="0 25 * * *"' in html
    assert 'name="cron" value="0 25 * * *" translate="no" placeholder="0 2 * * *" aria-invalid="true"' in html
    assert client.post(url, {"cron": "30 2 * * *", "timezone": "Asia/Shanghai", "enabled": "on"}).status_code == 302
    page = client.get(url).content.decode()
    upcoming = re.findall(r"<li translate=\"no\">([^<]+)</li>", re.search(r'id="upcoming">(.*?)</ol>', page, re.S)[1])
    assert len(upcoming) == 5 and all(t.endswith("18:30:00 UTC") for t in upcoming)  # 02:30 in Shanghai
    assert client.post(reverse("admin:console-job-schedule-remove", args=[job])).status_code == 302
    assert not JobSchedule.unscoped.filter(job_id=job).exists()


def test_a_run_with_a_version_a_note_a_job_variable_and_overlap(world):
    client = client_of(world.users["admin"])
    config = FAKE_TO_CONSOLE.replace("row.num = 16", 'row.num = "${rows}"')
    create(client, world, "with-variable", config, variables="rows=8")
    job = Job.unscoped.get(name="with-variable")
    page = client.get(reverse("admin:console-job", args=[job.id])).content.decode()
    assert 'name="var:rows" placeholder="8"' in page
    client.post(reverse("admin:console-job-run", args=[job.id]), {"note": "by hand", "var:rows": "12"})
    run = Run.unscoped.get(job_id=job.id)
    assert (run.manifest["note"], run.manifest["variables"], run.job_version) == ("by hand", {"rows": "12"}, 1)
    client.post(reverse("admin:console-job-revise", args=[job.id]), {"config": config.replace("fake", "f2")})
    # an older version, and a second run while the first is active: only when asked
    refused = client.post(reverse("admin:console-job-run", args=[job.id]), {"version": "1"}, follow=True)
    assert "Refused: RUN_ACTIVE_EXISTS" in [str(m)[:26] for m in refused.context["messages"]]
    client.post(reverse("admin:console-job-run", args=[job.id]), {"version": "1", "allow_overlap": "on"})
    assert sorted(Run.unscoped.filter(job_id=job.id).values_list("job_version", flat=True)) == [1, 1]


def test_the_job_pages_in_chinese_have_no_english_of_their_own(world):
    client = client_of(world.users["owner"])
    job = world.objects["acme_job"]
    urls = [
        reverse(CREATE),
        reverse(CREATE) + "?template=fake-to-console",
        reverse("admin:console-job-revise", args=[job]),
        reverse("admin:console-job-schedule", args=[job]),
        reverse("admin:console-job-schedule", args=[world.objects["acme_scheduled_job"]]),
        reverse("admin:console-job-diff", args=[job]),
        reverse("admin:console-job-rollback", args=[job, 1]),
    ]
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert bool(untranslated(response.content.decode())) == expect_english, (url, language)
        refused = create(client, world, "zh", BAD_HOCON)
        assert refused.status_code == 400 and bool(untranslated(refused.content.decode())) == expect_english


def test_the_jobs_list_filters_by_cluster_and_latest_run_and_pages_with_its_filters(world, monkeypatch):
    client, job = client_of(world.users["owner"]), world.objects["acme_job"]
    scheduled, url = world.objects["acme_scheduled_job"], reverse("admin:console-jobs")

    def listed(**query: str) -> set[str]:
        html = client.get(url, query).content.decode()
        return {j for j in (job, scheduled) if reverse("admin:console-job", args=[j]) in html}

    assert listed() == {job, scheduled}
    assert listed(latest="none") == {scheduled}  # never run
    latest = Run.unscoped.filter(job_id=job).latest("created_at").state
    assert listed(latest=latest) == {job}
    assert listed(latest="SUCCEEDED" if latest != "SUCCEEDED" else "FAILED") == set()
    assert listed(cluster=world.objects["acme_cluster"]) == {job, scheduled}
    assert listed(cluster="no-such-cluster") == set()
    monkeypatch.setattr(jobs_page, "PAGE_ROWS", 1)
    first = client.get(url, {"cluster": world.objects["acme_cluster"]}).content.decode()
    older = re.search(r'<p class="console-pages"><a href="\?([^"]+)" data-page="2">', first)
    assert older is not None and f"cluster={world.objects['acme_cluster']}" in older.group(1)
    second = client.get(url + "?" + older.group(1).replace("&amp;", "&")).content.decode()
    assert 'data-page="1"' in second  # newer, back to the first page
