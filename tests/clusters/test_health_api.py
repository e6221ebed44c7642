"""Health, nodes, poll-now, plugins, the platform catalog and job templates over the API (emulator-backed world)."""

from __future__ import annotations

import pytest
from django.test import Client

from agent.facts import connector_jar
from controlplane.agents import actions as agents
from controlplane.audit.models import AuditRecord
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import read_stream
from tests.api.world import World, build_world
from tests.operations.agent_sim import register_agent

pytestmark = pytest.mark.django_db
W = "/api/v1/tenants/acme/workspaces/etl"


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def cluster_url(world: World, key: str = "acme_cluster") -> str:
    return f"{W}/clusters/{world.objects[key]}/"


def test_poll_now_then_health_and_nodes(client, world):
    url = cluster_url(world)
    never = client.get(f"{url}health/", **world.auth("viewer")).json()
    assert (never["reachable"], never["checked_at"], never["members"]) == (None, None, [])
    assert client.get(f"{url}nodes/", **world.auth("viewer")).json()["results"] == []

    polled = client.post(f"{url}poll/", **world.auth("operator"))
    assert polled.status_code == 200, polled.content
    body = polled.json()
    assert body["reachable"] is True and body["error"] is None and body["engine_version"] == "2.3.12"
    assert len(body["members"]) == 1 and body["members"][0]["address"] == "127.0.0.1:5801"
    assert body["heap_max"] == 2 * 1024**3 and body["running_jobs"] >= 0
    record = AuditRecord.objects.order_by("-id").first()
    assert (record.action, record.result, record.actor_id) == ("cluster.poll", "ok", "operator-user")
    joined = read_stream(f"cluster-{world.objects['acme_cluster']}")[-1]
    assert joined.event_type == "clusters.node_joined" and joined.metadata.actor.id == "operator-user"
    assert joined.metadata.request_id == polled["X-Request-ID"]

    assert client.get(f"{url}health/", **world.auth("viewer")).json()["checked_at"] == body["checked_at"]
    nodes = client.get(f"{url}nodes/", **world.auth("viewer")).json()["results"]
    assert len(nodes) == 1
    node = nodes[0]
    assert (node["address"], node["role"], node["status"], node["is_master"]) == (
        "127.0.0.1:5801",
        "hybrid",
        "online",
        True,
    )
    assert node["engine_version"] == "2.3.12" and node["last_seen"] and node["metrics"]["heap_max"] == 2 * 1024**3

    # a second poll-now changes nothing in the log
    events = len(read_stream(f"cluster-{world.objects['acme_cluster']}"))
    client.post(f"{url}poll/", **world.auth("viewer"))
    assert len(read_stream(f"cluster-{world.objects['acme_cluster']}")) == events


def test_another_tenants_cluster_is_404_on_every_cluster_path(client, world):
    beta = cluster_url(world, "beta_cluster")
    for method, suffix in (("get", "health/"), ("get", "nodes/"), ("post", "poll/"), ("get", "plugins/")):
        response = getattr(client, method)(f"{beta}{suffix}", **world.auth("owner"))
        assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert not read_stream(f"cluster-{world.objects['beta_cluster']}")[1:]  # nothing polled on beta's behalf


def test_plugins_list_the_versions_catalog_and_what_each_nodes_agent_reports_installed(client, world):
    body = client.get(f"{cluster_url(world)}plugins/", **world.auth("viewer")).json()
    assert body["engine_version"] == "2.3.12" and body["catalog_version"] == "2.3.12"
    sources = {c["name"]: c["artifact"] for c in body["connectors"]["source"]}
    assert sources["FakeSource"] == "connector-fake" and "Jdbc" in sources
    assert {c["name"] for c in body["connectors"]["sink"]} >= {"Console", "Jdbc"}
    # the world's agent registered without the facts: an older agent, so unknown, and the reason says so
    (member,) = body["installed"]
    assert (member["address"], member["agent_id"]) == ("127.0.0.1:5801", world.objects["acme_agent"])
    assert (member["reported"], member["unknown"], member["connector_jars"], member["plugins"]) == (
        False,
        "not_reported",
        None,
        None,
    )
    assert (
        body["installed_reason"]
        == "unknown for 127.0.0.1:5801 (its agent, an older one, does not report installed jars)"
    )

    cluster = Cluster.unscoped.get(id=world.objects["acme_cluster"])
    meta = Metadata.for_system(cluster.tenant_id, reason="tests", workspace_id=cluster.workspace_id)
    node = register_agent(meta, cluster, "acme-node-1", "127.0.0.1:5801")  # a newer agent on the node
    jars = ["connector-fake-2.3.12.jar", "connector-jdbc-2.3.12.jar", "seatunnel-transforms-v2-2.3.12.jar"]
    agents.do_record_heartbeat(
        metadata=node.agent.metadata(),
        agent=node.agent,
        sent_at="2026-12-05T10:00:00Z",
        facts={
            "seatunnel_home": "/opt/seatunnel",
            "connector_jars": [connector_jar(name) for name in jars],
            "lib_jars": ["mysql-connector-j-8.0.33.jar"],
        },
    )
    body = client.get(f"{cluster_url(world)}plugins/", **world.auth("viewer")).json()
    (member,) = body["installed"]
    assert (member["agent_id"], member["reported"], member["unknown"]) == (node.id, True, None)
    assert member["connector_jars"][1] == {
        "file": "connector-jdbc-2.3.12.jar",
        "artifact": "connector-jdbc",
        "version": "2.3.12",
    }
    assert member["lib_jars"] == ["mysql-connector-j-8.0.33.jar"] and member["seatunnel_home"] == "/opt/seatunnel"
    assert member["plugins"]["source"] == ["FakeSource", "Jdbc"] and member["plugins"]["sink"] == ["Jdbc"]
    assert "Sql" in member["plugins"]["transform"] and body["installed_reason"] == ""
    assert body["connectors"]["transform"]


def test_the_platform_catalog(client, world):
    assert client.get("/api/v1/catalog/2.3.12/").status_code == 401
    body = client.get("/api/v1/catalog/2.3.10/", **world.auth("outsider")).json()
    assert (body["version"], body["catalog_version"]) == ("2.3.10", "2.3.8")
    assert "2.3.12" in body["known_versions"] and body["connectors"]["sink"]
    missing = client.get("/api/v1/catalog/1.0.0/", **world.auth("viewer"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "CATALOG_VERSION_NOT_FOUND"


def test_job_templates_list_with_parameter_schemas(client, world):
    response = client.get(f"{W}/job-templates/", **world.auth("viewer"))
    assert response.status_code == 200
    templates = {t["name"]: t for t in response.json()["results"]}
    assert set(templates) == {"fake-to-console", "jdbc-mysql-to-jdbc-mysql", "mysql-cdc-to-jdbc"}
    params = {p["name"]: p for p in templates["fake-to-console"]["params"]}
    assert params["mode"]["choices"] == ["BATCH", "STREAMING"] and params["row_num"]["default"] == 16
    assert params["row_num"]["type"] == "int" and params["row_num"]["minimum"] == 1


def render(client, world, name="fake-to-console", who="admin", **body):
    return client.post(f"{W}/job-templates/{name}/render/", body, content_type="application/json", **world.auth(who))


def test_render_a_template_for_a_cluster_or_a_version(client, world):
    response = render(
        client, world, params={"row_num": "8", "mode": "streaming"}, cluster_id=world.objects["acme_cluster"]
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["template"], body["engine_version"], body["format"]) == ("fake-to-console", "2.3.12", "hocon")
    assert "row.num = 8" in body["config"] and 'job.mode = "STREAMING"' in body["config"]
    assert "plugin_output" in body["config"]
    old = render(client, world, params={}, engine_version="2.3.8").json()["config"]
    assert "result_table_name" in old and "plugin_output" not in old
    # what it renders is a config the jobs endpoint accepts as it is
    created = client.post(
        f"{W}/jobs/",
        {"name": "from-template", "cluster_id": world.objects["acme_cluster"], "config": body["config"]},
        content_type="application/json",
        **world.auth("admin"),
    )
    assert created.status_code == 201, created.content


@pytest.mark.parametrize(
    ("name", "params", "param", "reason"),
    [
        ("jdbc-mysql-to-jdbc-mysql", {}, "source_url", "required"),
        ("fake-to-console", {"row_num": "many"}, "row_num", None),
        ("fake-to-console", {"row_num": 0}, "row_num", "must be at least 1"),
        ("fake-to-console", {"mode": "SOMETIMES"}, "mode", None),
        ("fake-to-console", {"colour": "blue"}, "colour", "unknown parameter"),
        (
            "jdbc-mysql-to-jdbc-mysql",
            {"source_url": "jdbc:mysql://db:3306/shop", "source_user": "etl", "source_password_secret": "not a name!"},
            "source_password_secret",
            None,
        ),
    ],
)
def test_bad_parameters_are_a_coded_400(client, world, name, params, param, reason):
    response = render(client, world, name=name, params=params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "JOB_TEMPLATE_PARAMS_INVALID" and error["details"]["param"] == param
    if reason:
        assert error["details"]["reason"] == reason


def test_render_refusals(client, world):
    unknown = render(client, world, name="ftp-to-fax", params={})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "JOB_TEMPLATE_NOT_FOUND"
    foreign = render(client, world, params={}, cluster_id=world.objects["beta_cluster"])
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "CLUSTER_NOT_FOUND"
    bad_version = render(client, world, params={}, engine_version="latest")
    assert bad_version.status_code == 400 and bad_version.json()["error"]["code"] == "JOB_CATALOG_VERSION_UNKNOWN"
    not_a_map = render(client, world, params=["row_num"])
    assert not_a_map.status_code == 400 and not_a_map.json()["error"]["code"] == "VALIDATION_FAILED"
    viewer = render(client, world, who="viewer", params={})
    assert viewer.status_code == 403 and viewer.json()["error"]["details"]["permission"] == "job.create"
