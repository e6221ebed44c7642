"""The console's operations pages (controlplane/console/pages/operations.py): the list with its filters, an
operation's steps with a bar per node that follows the agents' progress, and Cancel through the API's writer."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from controlplane.audit.models import AuditRecord
from controlplane.clusters.models import Cluster
from controlplane.console.pages import operations as operations_page
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.operations import actions as operations
from controlplane.operations import runner
from controlplane.operations.models import Operation
from tests.api.world import acting, world_for_module
from tests.console.test_pages import client_of
from tests.console.test_translations import untranslated
from tests.operations.agent_sim import register_agent

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


@pytest.fixture(autouse=True)
def _fast_runner(settings):  # type: ignore[no-untyped-def]
    settings.OPERATION_RETRY_BASE_SECONDS = 0
    settings.OPERATION_POLL_SECONDS = 0.05


def assert_translated(client: Client, urls: list[str]) -> None:
    """Each page in zh-hans shows no English of its own, and in English some (the check is looking at something)."""
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            found = untranslated(response.content.decode())
            assert bool(found) == expect_english, (language, url, found)


def bar_of(html: str, node: str) -> tuple[str, str | None]:
    """The state and percent of a node's progress bar on the page."""
    found = re.search(
        rf'data-node="{re.escape(node)}">.*?<div class="console-progress[^"]*" data-state="([A-Z_]+)"'
        r'(?: data-percent="(\d+)")?',
        html,
        re.S,
    )
    assert found, html[-3000:]
    return found.group(1), found.group(2)


def test_the_list_shows_the_tenants_operations_with_links_and_filters(world):
    client = client_of(world.users["viewer"])
    page = client.get(reverse("admin:console-operations")).content.decode()
    ours, theirs = world.objects["acme_operation"], world.objects["beta_operation"]
    assert reverse("admin:console-operation", args=[ours]) in page and theirs not in page
    assert world.objects["acme_archive"] in page  # the diagnose operation, shown with its type's label
    assert "Diagnose" in page and 'data-state="PENDING"' in page
    assert ours not in client.get(reverse("admin:console-operations") + "?type=diagnose").content.decode()
    assert ours not in client.get(reverse("admin:console-operations") + "?state=SUCCEEDED").content.decode()
    assert ours in client.get(reverse("admin:console-operations") + "?state=PENDING").content.decode()
    cluster = world.objects["acme_cluster"]
    assert ours in client.get(reverse("admin:console-operations"), {"cluster": cluster}).content.decode()
    assert ours not in client.get(reverse("admin:console-operations"), {"cluster": "another"}).content.decode()
    assert client.get(reverse("admin:console-operation", args=[theirs])).status_code == 404


def test_the_list_pages_with_its_filters_kept(world, monkeypatch):
    monkeypatch.setattr(operations_page, "PAGE_ROWS", 1)  # the world has two operations on acme's cluster
    client, cluster = client_of(world.users["viewer"]), world.objects["acme_cluster"]
    first = client.get(reverse("admin:console-operations"), {"cluster": cluster}).content.decode()
    older = re.search(r'<p class="console-pages"><a href="\?([^"]+)" data-page="2">', first)
    assert older is not None and older.group(1) == f"cluster={cluster}&amp;page=2"
    shown = set(re.findall(r'href="/admin/console/operations/(\w+)/"', first))
    second = client.get(reverse("admin:console-operations"), {"cluster": cluster, "page": 2}).content.decode()
    assert shown and not shown & set(re.findall(r'href="/admin/console/operations/(\w+)/"', second))


def test_the_operation_page_shows_steps_and_each_nodes_progress_as_the_agent_reports_it(world):
    operator = world.users["operator"]
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    agent = register_agent(acting(world.users["owner"], world.acme.id), cluster, "sim-node", "127.0.0.1:5809")
    op_id = operations.do_request_operation(
        metadata=acting(operator, world.acme.id),
        cluster=cluster,
        type="run_action",
        params={"action": "health.check", "params": {}, "nodes": ["sim-node"]},
    )
    client = client_of(operator)
    url = reverse("admin:console-operation", args=[op_id])
    fragment = reverse("admin:console-operation-state", args=[op_id])
    page = client.get(url).content.decode()
    assert f'data-live="/ws/v1/operations/{op_id}/"' in page and f'data-fragment="{fragment}"' in page
    assert "health.check on sim-node" in page and bar_of(page, "sim-node") == ("PENDING", None)
    assert 'data-action="cancel"' in page  # PENDING: cancellable, and the operator may

    runner.advance(op_id)  # started
    runner.advance(op_id)  # the step asks the agent
    agent.serve(lambda action: (None, {}, ""))  # claimed, 50 % "working", not finished
    state = client.get(fragment).content.decode()
    assert bar_of(state, "sim-node") == ("RUNNING", "50") and "working" in state
    assert 'data-state="RUNNING"' in state

    agent.serve()
    for _ in range(5):
        runner.advance(op_id)
    assert Operation.unscoped.get(id=op_id).state == "SUCCEEDED"
    state = client.get(fragment).content.decode()
    assert bar_of(state, "sim-node") == ("SUCCEEDED", "100")
    assert 'id="operation-state-value"><span class="console-badge console-good" data-state="SUCCEEDED"' in state
    assert 'data-action="cancel"' not in state  # finished: nothing to cancel


def test_cancel_calls_the_apis_writer_and_is_audited(world):
    op_id = world.objects["acme_operation"]
    client = client_of(world.users["operator"])
    response = client.post(reverse("admin:console-operation-cancel", args=[op_id]))
    assert response.status_code == 302 and response["Location"] == reverse("admin:console-operation", args=[op_id])
    assert Operation.unscoped.get(id=op_id).state == "CANCELLED"  # a PENDING operation settles at once
    record = AuditRecord.objects.filter(action="console.cancel", resource_id=op_id).latest("id")
    assert (record.result, record.actor_id, record.tenant_id) == ("ok", "operator-user", world.acme.id)
    page = client.get(response["Location"]).content.decode()
    assert "Cancel requested." in page and 'data-action="cancel"' not in page
    again = client.post(reverse("admin:console-operation-cancel", args=[op_id]), {"next": response["Location"]})
    assert again.status_code == 302  # a finished operation: the writer's refusal comes back as a message
    assert "cannot be cancelled" in client.get(again["Location"]).content.decode()
    failed = AuditRecord.objects.filter(action="console.cancel", resource_id=op_id).latest("id")
    assert (failed.result, failed.error_code) == ("failed", "OPERATION_NOT_CANCELLABLE")


def test_a_viewer_has_no_cancel_button_and_a_forged_post_is_refused_and_audited(world):
    op_id = world.objects["acme_operation"]
    client = client_of(world.users["viewer"])
    assert 'data-action="cancel"' not in client.get(reverse("admin:console-operation", args=[op_id])).content.decode()
    refused = client.post(reverse("admin:console-operation-cancel", args=[op_id]))
    assert refused.status_code == 403 and "operation.cancel" in refused.content.decode()
    assert Operation.unscoped.get(id=op_id).state == "PENDING"
    record = AuditRecord.objects.filter(action="console.cancel", resource_id=op_id).latest("id")
    assert (record.result, record.error_code) == ("denied", "PERMISSION_DENIED")


def test_another_tenants_operation_is_not_found_for_its_page_fragment_and_cancel(world):
    theirs = world.objects["beta_operation"]
    client = client_of(world.users["owner"])
    for name in ("admin:console-operation", "admin:console-operation-state"):
        assert client.get(reverse(name, args=[theirs])).status_code == 404
    assert client.post(reverse("admin:console-operation-cancel", args=[theirs])).status_code == 404
    assert Operation.unscoped.get(id=theirs).state == "PENDING"
    record = AuditRecord.objects.filter(action="console.cancel", resource_id=theirs).latest("id")
    assert (record.result, record.error_code, record.tenant_id) == ("denied", "NOT_FOUND", world.acme.id)


def test_the_operations_pages_in_chinese_have_no_english_of_their_own(world):
    client = client_of(world.users["owner"])
    urls = [
        reverse("admin:console-operations"),
        reverse("admin:console-operation", args=[world.objects["acme_operation"]]),
        reverse("admin:console-operation", args=[world.objects["acme_archive"]]),  # the diagnose operation
    ]
    assert_translated(client, urls)


def test_a_role_on_one_cluster_sees_its_operations_and_a_role_on_a_job_only_is_refused(world):
    user = User.objects.create_user("cluster-viewer")
    iam.do_grant_object_role(
        metadata=Metadata.for_system(None, reason="test"),
        user=user,
        tenant=world.acme,
        kind="cluster",
        object_id=world.objects["acme_cluster"],
        role="viewer",
    )
    client = client_of(user)
    page = client.get(reverse("admin:console-operations")).content.decode()
    assert world.objects["acme_operation"] in page and 'data-action="cancel"' not in page
    assert client.get(reverse("admin:console-operation", args=[world.objects["acme_operation"]])).status_code == 200
    assert world.objects["acme_archive"] in client.get(reverse("admin:console-diagnostics")).content.decode()
    job_only = client_of(world.users["acme-job-operator"])
    assert job_only.get(reverse("admin:console-operations")).status_code == 403
