"""What a node has installed, from its agent's heartbeat (docs/AGENT_PROTOCOL.md, "Heartbeat"): the jars of the
SeaTunnel home's connectors/ and lib/ are stored in their documented shape on the liveness row (never in an
event) and read back per member of the cluster by ``cluster_installed_list``."""

from __future__ import annotations

import json

import pytest

from controlplane.agents import actions
from controlplane.agents.domain import facts as installed_facts
from controlplane.agents.domain.facts import ConnectorJar, clean_installed
from controlplane.agents.models import AgentLiveness
from controlplane.agents.selectors import cluster_installed_list
from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.eventlog.models import Event
from controlplane.eventlog.store import read_stream
from controlplane.tenancy.context import bound
from tests.agents.helpers import issue_token, make_place, register_body

pytestmark = pytest.mark.django_db

JDBC = {"file": "connector-jdbc-2.3.12.jar", "artifact": "connector-jdbc", "version": "2.3.12"}
FAKE = {"file": "connector-fake-2.3.12.jar", "artifact": "connector-fake", "version": "2.3.12"}


@pytest.fixture
def place():
    return make_place()


@pytest.fixture
def cluster(place) -> Cluster:
    """A cluster whose install recorded three nodes (the third has no agent)."""
    cluster_id = clusters.do_declare_cluster(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
    )
    cluster = Cluster.unscoped.get(id=cluster_id)
    clusters.do_record_installed_nodes(
        metadata=place.meta,
        cluster=cluster,
        nodes=[{"address": f"10.0.0.{n}:5801", "role": "hybrid", "facts": {}} for n in (1, 2, 3)],
        engine_version="2.3.12",
    )
    return cluster


def enrol(place, cluster: Cluster, address: str, facts: dict | None = None) -> str:
    """An agent of the cluster on ``address``; its credential."""
    body = register_body(issue_token(place, cluster_id=cluster.id), member_address=address, facts=facts or {})
    return actions.do_register_agent(**body).credential


def heartbeat(client, credential: str, facts: dict):
    return client.post(
        "/agent/v1/heartbeat",
        data=json.dumps({"sent_at": "2026-12-05T10:00:00Z", "facts": facts}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Agent {credential}",
    )


def test_a_heartbeat_stores_the_installed_jars_and_the_selector_returns_them_per_member(client, place, cluster):
    first = enrol(place, cluster, "10.0.0.1:5801")
    older = enrol(place, cluster, "10.0.0.2:5801")
    before = Event.objects.count()
    facts = {
        "hostname": "node-1",
        "seatunnel_home": "/opt/seatunnel",
        "connector_jars": [FAKE, JDBC],
        "lib_jars": ["seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar"],
    }
    assert heartbeat(client, first, facts).status_code == 200
    assert heartbeat(client, older, {"hostname": "node-2", "seatunnel_home": "/opt/seatunnel"}).status_code == 200
    assert Event.objects.count() == before  # an observation, not history
    stored = AgentLiveness.unscoped.get(agent_id=first.split("_")[1]).facts
    assert stored["connector_jars"] == [FAKE, JDBC] and stored["hostname"] == "node-1"

    with bound(place.tenant_id, place.workspace_id):
        nodes = {node.address: node for node in cluster_installed_list(cluster.id)}
    assert list(nodes) == ["10.0.0.1:5801", "10.0.0.2:5801", "10.0.0.3:5801"]
    one = nodes["10.0.0.1:5801"]
    assert one.agent_id == first.split("_")[1] and one.unknown == ""
    assert one.installed.connector_jars == (
        ConnectorJar("connector-fake-2.3.12.jar", "connector-fake", "2.3.12"),
        ConnectorJar("connector-jdbc-2.3.12.jar", "connector-jdbc", "2.3.12"),
    )
    assert one.installed.lib_jars == ("seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar",)
    assert one.installed.seatunnel_home == "/opt/seatunnel"
    assert (nodes["10.0.0.2:5801"].installed.reported, nodes["10.0.0.2:5801"].unknown) == (False, "not_reported")
    assert (nodes["10.0.0.3:5801"].agent_id, nodes["10.0.0.3:5801"].unknown) == (None, "no_agent")
    with bound("another-tenant"):
        assert cluster_installed_list(cluster.id) == []


def test_what_does_not_fit_the_shape_is_dropped_and_an_unreadable_directory_is_null(client, place, cluster):
    credential = enrol(place, cluster, "10.0.0.1:5801")
    facts = {
        "seatunnel_home": "/opt/seatunnel",
        "connector_jars": [JDBC, {"file": "x.jar"}, "connector-kafka-2.3.12.jar", {**FAKE, "file": "../../etc.jar"}],
        "lib_jars": {"not": "a list"},
    }
    assert heartbeat(client, credential, facts).status_code == 200  # a heartbeat is never refused for its facts
    with bound(place.tenant_id, place.workspace_id):
        (node, *_) = cluster_installed_list(cluster.id)
    assert [jar.file for jar in node.installed.connector_jars or ()] == ["connector-jdbc-2.3.12.jar"]
    assert node.installed.lib_jars is None and node.unknown == ""

    heartbeat(client, credential, {"seatunnel_home": "/opt/seatunnel", "connector_jars": None, "lib_jars": None})
    with bound(place.tenant_id, place.workspace_id):
        assert cluster_installed_list(cluster.id)[0].unknown == "unreadable"
    heartbeat(client, credential, {"seatunnel_home": None, "connector_jars": None, "lib_jars": None})
    with bound(place.tenant_id, place.workspace_id):
        assert cluster_installed_list(cluster.id)[0].unknown == "no_home"


def test_registration_keeps_the_jars_on_the_liveness_row_and_out_of_the_event(place, cluster):
    credential = enrol(place, cluster, "10.0.0.1:5801", {"cpu_count": 4, "connector_jars": [JDBC], "lib_jars": []})
    agent_id = credential.split("_")[1]
    registered = read_stream(f"agent-{agent_id}")[0]
    assert registered.event_type == "agents.agent_registered" and registered.data.facts == {"cpu_count": 4}
    assert AgentLiveness.unscoped.get(agent_id=agent_id).facts["connector_jars"] == [JDBC]
    with bound(place.tenant_id, place.workspace_id):
        assert cluster_installed_list(cluster.id)[0].installed.connector_jars[0].artifact == "connector-jdbc"


def test_the_lists_are_bounded():
    many = [{**JDBC, "file": f"connector-x{n}-2.3.12.jar"} for n in range(installed_facts.MAX_JARS + 5)]
    cleaned = clean_installed({"connector_jars": many, "lib_jars": ["a" * 300 + ".jar", "ok.jar", 7]})
    assert len(cleaned["connector_jars"]) == installed_facts.MAX_JARS
    assert cleaned["lib_jars"] == ["ok.jar"]
    assert clean_installed({"cpu_count": 2}) == {"cpu_count": 2}  # an older agent's facts: nothing added
