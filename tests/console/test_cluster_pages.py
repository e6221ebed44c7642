"""The console's clusters and nodes (pages/clusters.py, pages/cluster_wizards.py): the topology as the log and the
agents know it, node buttons and wizards that request operations through the API's writer, a plan shown with
nothing written, and refusals for roles without the point and for other tenants."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from agent.facts import connector_jar
from controlplane.agents import actions as agents
from controlplane.agents.selectors import AuthenticatedAgent
from controlplane.audit.models import AuditRecord
from controlplane.clusters import actions as clusters
from controlplane.clusters.health import ClusterHealth, Member
from controlplane.clusters.models import Cluster, node_id
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.operations.models import Operation
from tests.api.world import World, build_world, world_for_module
from tests.console.test_pages import client_of
from tests.console.test_translations import untranslated
from tests.operations.agent_sim import register_agent

pytestmark = pytest.mark.django_db

MASTER, SECOND = "127.0.0.1:5801", "127.0.0.1:5802"  # the world's agent reported the first


def build() -> World:
    """The world, with acme's cluster installed on two hybrid nodes (as an install records them), a second agent
    on the second node and a third, lost, whose node the cluster does not list."""
    world = build_world()
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    meta = Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id)
    facts = {"engine_version": "2.3.12", "role": "hybrid", "prefix": "/opt/seatunnel", "members": [MASTER, SECOND]}
    clusters.do_record_installed_nodes(
        metadata=meta,
        cluster=cluster,
        nodes=[{"address": address, "role": "hybrid", "facts": facts} for address in (MASTER, SECOND)],
        engine_version="2.3.12",
    )
    second = register_agent(meta, cluster, "acme-node-2", SECOND)
    world.objects["acme_agent_2"] = second.id
    world.objects["acme_agent_3"] = register_agent(meta, cluster, "acme-spare", "127.0.0.1:5803").id
    # What the two nodes' agents report installed (the spare's agent is older: it reports nothing): the first has
    # the JDBC connector and the MySQL driver, the second neither, and an older Kafka connector than the engine.
    first = AuthenticatedAgent(world.objects["acme_agent"], cluster.tenant_id, cluster.workspace_id, "online")
    for agent, extra, lib in (
        (first, ["connector-jdbc-2.3.12.jar", "my-own-connector.jar"], ["mysql-connector-j-8.0.33.jar"]),
        (second.agent, ["connector-kafka-2.3.8.jar"], []),
    ):
        jars = ["connector-console-2.3.12.jar", "connector-fake-2.3.12.jar", "seatunnel-transforms-v2-2.3.12.jar"]
        agents.do_record_heartbeat(
            metadata=agent.metadata(),
            agent=agent,
            sent_at="2026-12-05T10:00:00Z",
            facts={
                "seatunnel_home": "/opt/seatunnel/current",
                "connector_jars": [connector_jar(name) for name in sorted(jars + extra)],
                "lib_jars": ["seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar", *lib],
            },
        )
    now = timezone.now()  # the spare has been silent for 10 intervals: lost
    agents.do_observe_silence(
        metadata=meta,
        agent_id=world.objects["acme_agent_3"],
        last_heartbeat_at=now - timedelta(minutes=10),
        now=now,
        interval_seconds=60,
    )
    # a second cluster, and an operator of the first one only (ADR 0019)
    world.objects["acme_cluster_2"] = clusters.do_register_cluster(
        metadata=meta,
        tenant_id=cluster.tenant_id,
        workspace_id=cluster.workspace_id,
        name="zeta-2",
        form="bare_metal",
        mode="hybrid",
        endpoints=list(cluster.endpoints),
    )
    world.users["acme-cluster-operator"] = User.objects.create_user("acme-cluster-operator")
    iam.do_grant_object_role(
        metadata=Metadata.for_system(None, reason="tests"),
        user=world.users["acme-cluster-operator"],
        tenant=world.acme,
        kind="cluster",
        object_id=cluster.id,
        role="operator",
    )
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker, build) as built:
        yield built


def operation_page(operation_id: str, cluster_id: str) -> str:
    """The operations page where it is built; the cluster page's list of operations until it is merged."""
    try:
        return reverse("admin:console-operation", args=[operation_id])
    except NoReverseMatch:
        return reverse("admin:console-cluster", args=[cluster_id]) + "#operations"


def topology_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-address="([^"]*)">(.*?)</tr>', html, re.S))


def test_the_list_shows_each_clusters_kind_version_health_nodes_and_agents(world):
    page = client_of(world.users["viewer"]).get(reverse("admin:console-clusters")).content.decode()
    cluster = world.objects["acme_cluster"]
    row = re.search(rf'<tr data-cluster="{cluster}">(.*?)</tr>', page, re.S).group(1)
    assert reverse("admin:console-cluster", args=[cluster]) in row
    assert "bare_metal · hybrid" in row and "2.3.12" in row and "Not checked yet" in row
    assert "2 of 2 online" in row and "(hybrid 2)" in row  # nodes
    assert "2 of 3 online" in row  # agents: the spare is lost
    assert world.objects["beta_cluster"] not in page


def test_the_cluster_page_draws_the_topology_from_the_nodes_and_their_agents(world):
    page = client_of(world.users["viewer"]).get(reverse("admin:console-cluster", args=[world.objects["acme_cluster"]]))
    rows = topology_rows(page.content.decode())
    assert list(rows) == [MASTER, SECOND, "127.0.0.1:5803"]
    assert "acme-node-1" in rows[MASTER] and world.objects["acme_agent"][:8] in rows[MASTER]
    assert "acme-node-2" in rows[SECOND] and "Hybrid" in rows[SECOND] and "2.3.12" in rows[SECOND]
    assert 'data-state="online"' in rows[SECOND]  # the node, as the install recorded it
    spare = rows["127.0.0.1:5803"]
    assert "Not listed by the cluster" in spare and "acme-spare" in spare and 'data-state="lost"' in spare
    html = page.content.decode()
    assert 'class="console-tree"' in html and "FakeSource" in html  # health as a tree; the catalog's connectors
    assert reverse("admin:console-run", args=[world.objects["acme_run_running"]]) in html
    assert world.objects["acme_operation"][:8] in html
    assert "data-action" not in html and "data-wizard" not in html  # a viewer: no buttons


def test_the_health_reads_as_a_summary_and_a_table_of_members(world):
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster_2"])
    member = Member(
        address="10.0.0.7:5801", role="master", is_master=True, heap_used=512 * 1024**2, heap_max=2 * 1024**3,
        heap_used_percent=25.0, cpu_process_percent=12.5, cpu_system_percent=40.0, load_average=1.5, processors=8,
        threads=97, physical_memory_total=16 * 1024**3, physical_memory_free=4 * 1024**3,
    )  # fmt: skip
    observed = ClusterHealth(
        cluster_id=cluster.id, reachable=True, error_code="", error_message="", engine_version="2.3.12",
        members=(member,), members_identified=True, total_slots=8, free_slots=6, running_jobs=2, pending_jobs=1,
        heap_used=member.heap_used, heap_max=member.heap_max, checked_at=timezone.now(),
    )  # fmt: skip
    meta = Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id)
    clusters.do_record_cluster_health(metadata=meta, cluster=cluster, observed=observed)
    html = client_of(world.users["viewer"]).get(reverse("admin:console-cluster", args=[cluster.id])).content.decode()
    summary = re.search(r'<dl class="console-facts" id="cluster-health">(.*?)</dl>', html, re.S).group(1)
    assert "2 running, 1 pending" in summary and "6 free of 8" in summary and "512.0\xa0MB / 2.0\xa0GB" in summary
    row = re.search(r'<tr data-member="10.0.0.7:5801">(.*?)</tr>', html, re.S).group(1)
    assert "Coordinator" in row and "Master" in row and "(25%)" in row and "12.5% / 40.0%" in row and "97" in row
    assert "4.0\xa0GB / 16.0\xa0GB" in row
    assert 'class="console-tree"' in html  # the API's answer, folded away
    page = reverse("admin:console-cluster", args=[cluster.id])
    assert page_words(client_of(world.users["viewer"]), "zh-hans", page, None) == []  # the members' table too


def connector_cells(html: str, name: str) -> dict[str, str]:
    """node address -> what the plugins' matrix says of connector ``name`` there (installed, missing, unknown)."""
    row = re.search(rf'<tr data-connector="{re.escape(name)}">(.*?)</tr>', html, re.S)
    assert row is not None, name
    return dict(re.findall(r'<td data-node="([^"]*)" data-installed="(\w+)">', row.group(1)))


def test_the_cluster_page_shows_on_which_nodes_each_connector_is_installed_and_their_lib_jars(world):
    page = client_of(world.users["viewer"]).get(reverse("admin:console-cluster", args=[world.objects["acme_cluster"]]))
    html = page.content.decode()
    spare = "127.0.0.1:5803"
    assert connector_cells(html, "FakeSource") == {MASTER: "installed", SECOND: "installed", spare: "unknown"}
    assert connector_cells(html, "Sql") == {MASTER: "installed", SECOND: "installed", spare: "unknown"}
    # the JDBC connector is on the first node only: the second lacks it, flagged
    assert connector_cells(html, "Jdbc") == {MASTER: "installed", SECOND: "missing", spare: "unknown"}
    jdbc = re.search(r'<tr data-connector="Jdbc">(.*?)</tr>', html, re.S).group(1)
    assert f'data-node="{SECOND}" data-installed="missing"><span class="console-badge console-bad">' in jdbc
    assert 'title="connector-jdbc-2.3.12.jar">2.3.12<' in jdbc
    # Kafka on the second only, and not the engine's version: flagged there
    assert connector_cells(html, "Kafka") == {MASTER: "missing", SECOND: "installed", spare: "unknown"}
    assert 'console-bad" translate="no" title="connector-kafka-2.3.8.jar">2.3.8<' in html
    assert 'data-connector="Redis"' not in html  # on no node: named in the kind's list, not drawn as a row
    assert re.search(r"On no node:\s*<span translate=\"no\">[^<]*\bRedis\b", html)
    nodes = dict(re.findall(r'<tr data-jars="([^"]*)">(.*?)</tr>', html, re.S))
    assert "mysql-connector-j-8.0.33.jar" in nodes[MASTER] and "mysql-connector-j" not in nodes[SECOND]
    assert "seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar" in nodes[SECOND]
    assert "/opt/seatunnel/current" in nodes[MASTER]
    assert '<span translate="no" data-unplaced>my-own-connector.jar</span>' in nodes[MASTER]
    assert 'data-unknown="not_reported"' in nodes[spare] and "an older agent" in nodes[spare]
    assert "not reported" not in html and "do not report them yet" not in html


def test_a_node_without_an_agent_is_unknown_never_missing(world):
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    meta = Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id)
    agents.do_revoke_agent(metadata=meta, agent_id=world.objects["acme_agent_2"], reason="node wiped")
    html = client_of(world.users["viewer"]).get(reverse("admin:console-cluster", args=[cluster.id])).content.decode()
    assert connector_cells(html, "Jdbc")[SECOND] == "unknown"
    nodes = dict(re.findall(r'<tr data-jars="([^"]*)">(.*?)</tr>', html, re.S))
    assert 'data-unknown="no_agent"' in nodes[SECOND] and "no agent on this node" in nodes[SECOND]
    assert "Kafka" not in re.findall(r'<tr data-connector="(\w+)">', html)  # only that node had it


def test_the_topology_and_health_follow_the_tenants_activity_feed(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["operator"])
    page = client.get(reverse("admin:console-cluster", args=[cluster])).content.decode()
    live = reverse("admin:console-cluster-live", args=[cluster])
    assert f'data-fragment="{live}" data-live="/ws/v1/tenants/acme/activity/"' in page
    part = client.get(live).content.decode()
    assert list(topology_rows(part)) == [MASTER, SECOND, "127.0.0.1:5803"] and 'class="console-tree"' in part
    page_url = reverse("admin:console-cluster", args=[cluster])
    assert f'name="next" value="{page_url}"' in part  # a refused button comes back to the page, not the part
    assert client.get(reverse("admin:console-cluster-live", args=[world.objects["beta_cluster"]])).status_code == 404


def test_a_revoked_agent_leaves_the_topology_and_the_newest_agent_of_a_node_is_shown(world):
    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    meta = Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id)
    replacement = register_agent(meta, cluster, "acme-node-2-new", SECOND)
    agents.do_revoke_agent(metadata=meta, agent_id=world.objects["acme_agent"], reason="node wiped")
    url = reverse("admin:console-cluster", args=[cluster.id])
    page = client_of(world.users["operator"]).get(url).content.decode()
    rows = re.findall(r'<tr data-address="([^"]*)">(.*?)</tr>', page, re.S)
    assert [address for address, _ in rows] == [MASTER, SECOND, SECOND, "127.0.0.1:5803"]
    assert "No agent" in rows[0][1] and "data-action" not in rows[0][1]
    assert "acme-node-2-new" in rows[1][1] and replacement.id[:8] in rows[1][1]
    assert "acme-node-2 " in rows[2][1] and "Hybrid" in rows[2][1]  # the older agent of that node still answers
    assert world.objects["acme_agent"][:8] not in page
    listed = client_of(world.users["operator"]).get(reverse("admin:console-clusters")).content.decode()
    row = re.search(rf'<tr data-cluster="{cluster.id}">(.*?)</tr>', listed, re.S).group(1)
    assert re.findall(r"\d of \d online", row) == ["2 of 2 online", "2 of 3 online"]  # each node once; no revoked


def test_an_operator_restarts_a_node_through_the_operations_writer(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["operator"])
    page = client.get(reverse("admin:console-cluster", args=[cluster])).content.decode()
    buttons = set(re.findall(r'data-action="([\w-]+)"', topology_rows(page)[SECOND]))
    assert buttons == {"restart", "worker-start", "worker-stop", "diagnose"}
    assert "data-action" not in topology_rows(page)["127.0.0.1:5803"]  # its agent is lost: it cannot act
    assert set(re.findall(r'data-wizard="([\w-]+)"', page)) == set()  # installing needs cluster.install
    before = set(Operation.unscoped.values_list("id", flat=True))
    answer = client.post(
        reverse("admin:console-cluster-node-restart", args=[cluster]), {"agent": world.objects["acme_agent_2"]}
    )
    (operation_id,) = set(Operation.unscoped.values_list("id", flat=True)) - before
    assert answer.status_code == 302 and answer["Location"] == operation_page(operation_id, cluster)
    operation = Operation.unscoped.get(id=operation_id)
    assert (operation.type, operation.requested_by) == ("rolling_restart", "user:operator-user")
    assert operation.params["nodes"] == [node_id(cluster, SECOND)]
    record = AuditRecord.objects.filter(action="console.node.restart", resource_id=cluster).latest("id")
    assert (record.result, record.actor_id) == ("ok", "operator-user")
    client.post(
        reverse("admin:console-cluster-node-worker-stop", args=[cluster]), {"agent": world.objects["acme_agent"]}
    )
    stop = Operation.unscoped.filter(type="run_action").latest("created_at")
    assert stop.params["action"] == "worker.stop" and stop.params["nodes"] == [node_id(cluster, MASTER)]


def test_an_operator_of_one_cluster_sees_and_restarts_that_cluster_only(world):
    cluster, other = world.objects["acme_cluster"], world.objects["acme_cluster_2"]
    client = client_of(world.users["acme-cluster-operator"])
    listed = client.get(reverse("admin:console-clusters")).content.decode()
    assert f'data-cluster="{cluster}"' in listed and f'data-cluster="{other}"' not in listed
    assert client.get(reverse("admin:console-cluster", args=[other])).status_code == 404
    page = client.get(reverse("admin:console-cluster", args=[cluster])).content.decode()
    assert 'data-action="restart"' in topology_rows(page)[SECOND]
    answer = client.post(
        reverse("admin:console-cluster-node-restart", args=[cluster]), {"agent": world.objects["acme_agent_2"]}
    )
    operation = Operation.unscoped.filter(cluster_id=cluster, type="rolling_restart").get()
    assert answer["Location"] == operation_page(operation.id, cluster)
    assert operation.requested_by == "user:acme-cluster-operator"


def test_a_viewer_has_no_node_buttons_and_a_forged_post_is_refused_and_audited(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["viewer"])
    before = Operation.unscoped.count()
    for verb in ("restart", "diagnose"):
        answer = client.post(
            reverse(f"admin:console-cluster-node-{verb}", args=[cluster]), {"agent": world.objects["acme_agent"]}
        )
        assert answer.status_code == 403
        record = AuditRecord.objects.filter(action=f"console.node.{verb}", resource_id=cluster).latest("id")
        assert (record.result, record.error_code) == ("denied", "PERMISSION_DENIED")
    refused = client.post(reverse("admin:console-cluster-upgrade", args=[cluster]), {"version": "2.3.13"})
    assert refused.status_code == 403 and "cluster.upgrade" in refused.content.decode()
    forged = {"version": "2.3.13", "batch_size": "1", "plan_hash": "0" * 64}
    assert client.post(reverse("admin:console-cluster-upgrade-run", args=[cluster]), forged).status_code == 403
    assert Operation.unscoped.count() == before


def test_another_tenants_cluster_is_not_found(world):
    beta = world.objects["beta_cluster"]
    client = client_of(world.users["owner"])
    assert client.get(reverse("admin:console-cluster", args=[beta])).status_code == 404
    assert client.get(reverse("admin:console-cluster-scale-in", args=[beta])).status_code == 404
    assert client.post(reverse("admin:console-cluster-node-restart", args=[beta]), {"agent": "x"}).status_code == 404
    record = AuditRecord.objects.filter(action="console.node.restart", resource_id=beta).latest("id")
    assert (record.result, record.error_code) == ("denied", "NOT_FOUND")


def test_the_scale_in_wizard_plans_without_writing_then_runs_the_plan_it_showed(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["admin"])
    page = client.get(reverse("admin:console-cluster", args=[cluster])).content.decode()
    assert set(re.findall(r'data-wizard="([\w-]+)"', page)) == {"install", "upgrade", "scale-out", "scale-in"}
    offered = client.get(reverse("admin:console-cluster-scale-out", args=[cluster])).content.decode()
    assert "acme-spare" in offered and "acme-node-2" not in offered  # a scale out adds nodes the cluster lacks
    wizard = reverse("admin:console-cluster-scale-in", args=[cluster])
    fields = {"nodes": [world.objects["acme_agent_2"]], "batch_size": "1", "revoke_agents": "on"}
    events, audits = Event.objects.count(), AuditRecord.objects.count()
    planned = client.post(wizard, fields).content.decode()
    assert (Event.objects.count(), AuditRecord.objects.count()) == (events, audits)  # the plan writes nothing
    steps = re.findall(r'<tr data-step="([^"]+)">', planned)
    assert steps == ["pause-streaming-runs", "b1.uninstall", "b1.deregister", "resume-streaming-runs"]
    assert "acme-node-2" in planned and "No task is killed without a savepoint" in planned
    plan_hash = re.search(r'name="plan_hash" value="([0-9a-f]{64})"', planned).group(1)
    run = reverse("admin:console-cluster-scale-in-run", args=[cluster])
    assert f'action="{run}"' in planned
    before = set(Operation.unscoped.values_list("id", flat=True))
    answer = client.post(run, {**fields, "plan_hash": plan_hash})
    (operation_id,) = set(Operation.unscoped.values_list("id", flat=True)) - before
    assert answer["Location"] == operation_page(operation_id, cluster)
    operation = Operation.unscoped.get(id=operation_id)
    assert operation.type == "scale_in" and operation.requested_by == "user:admin-user"
    record = AuditRecord.objects.filter(action="console.scale_in", resource_id=cluster).latest("id")
    assert (record.result, record.actor_id) == ("ok", "admin-user")


def test_a_run_whose_plan_changed_is_refused_and_the_form_comes_back_filled(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["admin"])
    fields = {"nodes": [world.objects["acme_agent_2"]], "batch_size": "2", "revoke_agents": "on"}
    planned = client.post(reverse("admin:console-cluster-scale-in", args=[cluster]), fields).content.decode()
    back = re.search(r'name="plan_hash"[^>]*>\s*<input type="hidden" name="next" value="([^"]+)"', planned)
    back = back.group(1).replace("&amp;", "&")
    before = Operation.unscoped.count()
    answer = client.post(
        reverse("admin:console-cluster-scale-in-run", args=[cluster]),
        {**fields, "batch_size": "1", "plan_hash": "0" * 64, "next": back},
        follow=True,
    )
    assert Operation.unscoped.count() == before
    assert answer.redirect_chain[0][0] == back and parse_qs(urlsplit(back).query)["batch_size"] == ["2"]
    html = answer.content.decode()
    assert "OPERATION_PLAN_CHANGED" in html and 'value="2"' in html  # the form, filled as it was sent
    record = AuditRecord.objects.filter(action="console.scale_in", resource_id=cluster).latest("id")
    assert (record.result, record.error_code) == ("failed", "OPERATION_PLAN_CHANGED")


def test_a_plan_the_operation_refuses_shows_its_error_at_the_field_with_the_input_kept(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["admin"])
    both = [world.objects["acme_agent"], world.objects["acme_agent_2"]]
    events = Event.objects.count()
    page = client.post(reverse("admin:console-cluster-scale-in", args=[cluster]), {"nodes": both, "batch_size": "3"})
    html = page.content.decode()
    assert page.status_code == 200 and Event.objects.count() == events
    assert re.search(r'console-field-error"[^>]*>OPERATION_LAST_NODES', html)
    assert 'data-step="' not in html and 'name="batch_size" value="3"' in html
    assert html.count("checked") == 2  # both nodes still chosen
    install = client.post(
        reverse("admin:console-cluster-install", args=[cluster]), {"version": "2.3.12", "form": "process"}
    )
    assert "OPERATION_CLUSTER_INSTALLED" in install.content.decode()  # a non-field error, above the form


def page_words(client: Client, language: str, url: str, data: dict | None) -> list[str]:
    """The page's English of its own (tests/console/test_translations.py), GET or, with ``data``, POST."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(url, data) if data else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return untranslated(response.content.decode())


def test_the_cluster_pages_in_chinese_have_no_english_of_their_own(world):
    cluster = world.objects["acme_cluster"]
    client = client_of(world.users["owner"])
    pages = [
        (reverse("admin:console-clusters"), None),
        (reverse("admin:console-cluster", args=[cluster]), None),
        *((reverse(f"admin:console-cluster-{name}", args=[cluster]), None) for name in ("install", "upgrade")),
        *((reverse(f"admin:console-cluster-{name}", args=[cluster]), None) for name in ("scale-out", "scale-in")),
        # the plan step (the default batch size)
        (reverse("admin:console-cluster-scale-in", args=[cluster]), {"nodes": [world.objects["acme_agent_2"]]}),
    ]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert 'data-step="b1.uninstall"' in client.post(*pages[-1]).content.decode()
    for url, data in pages:
        assert page_words(client, "en", url, data), url  # the check sees the page's own words
        assert page_words(client, "zh-hans", url, data) == [], url
