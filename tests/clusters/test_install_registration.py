"""A cluster declared for an install, registered with what the installer gathered, and a node taken out: the
clusters app's writers behind install_cluster, scale_out and scale_in (docs/INSTALLER.md, "Through the control
plane"), with the log, the read models, a rebuild and a health poll of a real emulator."""

from __future__ import annotations

import json

import pytest

from controlplane.clusters import actions, health
from controlplane.clusters.domain import aggregate
from controlplane.clusters.models import Cluster, Node
from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import read_stream
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.tenancy import actions as tenancy
from tests.eventlog.fingerprint import read_model_fingerprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def meta() -> Metadata:
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    return Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)


def facts(address: str, role: str, endpoint: str, version: str = "2.3.12") -> dict:
    return {
        "hostname": f"host-{role}",
        "engine_version": version,
        "installed_version": version,
        "role": role,
        "rest_endpoint": endpoint,
        "member_address": address,
        "java_version": 'openjdk version "11.0.2"',
        "cpu_count": 4,
        "memory_total_bytes": 8 << 30,
        "disk": {"path": "/opt/seatunnel", "total_bytes": 100 << 30, "free_bytes": 50 << 30},
        "prefix": "/opt/seatunnel",
    }


def test_declared_installed_and_a_node_removed_through_the_log(meta: Metadata) -> None:
    assert meta.tenant_id is not None and meta.workspace_id is not None
    cluster_id = actions.do_declare_cluster(
        metadata=meta,
        tenant_id=meta.tenant_id,
        workspace_id=meta.workspace_id,
        name="to-install",
        form="bare_metal",
        mode="hybrid",
    )
    cluster = Cluster.unscoped.get(id=cluster_id)
    assert (cluster.endpoints, cluster.engine_version) == ([], "")
    # Nothing to poll yet: the beat skips it, a poll asked for says why.
    assert health.poll_all()["unreachable"] == 0
    assert health.poll_one(cluster, metadata=meta).error_code == "CLUSTER_NOT_INSTALLED"

    master = facts("10.0.0.1:5801", "master", "http://10.0.0.1:8080")
    worker = facts("10.0.0.2:5802", "worker", "http://10.0.0.2:8080")
    appended = actions.do_record_installed_nodes(
        metadata=meta,
        cluster=Cluster.unscoped.get(id=cluster_id),
        nodes=[{"address": f["member_address"], "role": f["role"], "facts": f} for f in (master, worker)],
        engine_version="2.3.12",
        endpoints=["http://10.0.0.1:8080"],
        mode="separated",
    )
    assert appended == (
        "clusters.cluster_updated",
        "clusters.node_joined",
        "clusters.node_installed",
        "clusters.node_joined",
        "clusters.node_installed",
    )
    cluster = Cluster.unscoped.get(id=cluster_id)
    assert (cluster.endpoints, cluster.engine_version, cluster.mode) == (
        ["http://10.0.0.1:8080"],
        "2.3.12",
        "separated",
    )
    rows = {n.address: n for n in Node.unscoped.filter(cluster_id=cluster_id)}
    assert {a: (n.role, n.status) for a, n in rows.items()} == {
        "10.0.0.1:5801": ("master", "online"),
        "10.0.0.2:5802": ("worker", "online"),
    }
    assert rows["10.0.0.2:5802"].facts == worker

    # The same install recorded again (a retried step) appends only the facts, no second join.
    again = actions.do_record_installed_nodes(
        metadata=meta,
        cluster=cluster,
        nodes=[{"address": "10.0.0.2:5802", "role": "worker", "facts": worker}],
        engine_version="2.3.12",
        endpoints=["http://10.0.0.1:8080"],
    )
    assert again == ("clusters.node_installed",)

    actions.do_remove_node(metadata=meta, cluster=cluster, address="10.0.0.2:5802")
    assert set(Node.unscoped.filter(cluster_id=cluster_id).values_list("address", flat=True)) == {"10.0.0.1:5801"}
    types = [e.event_type for e in read_stream(actions.cluster_stream(cluster_id).id)]
    assert types[-1] == "clusters.node_removed" and types.count("clusters.node_installed") == 3
    assert "clusters.cluster_registered" in types

    before = read_model_fingerprint()
    rebuild()
    assert read_model_fingerprint() == before


def test_a_role_the_installer_recorded_is_kept_when_the_engine_cannot_tell(meta: Metadata, tmp_path) -> None:
    """2.3.x lists a worker like a standby master (no role): the installer's role stays; a real change still
    shows, and a node the installer did not install keeps the engine's word."""
    members = tmp_path / "members.json"
    master, worker, other = "10.0.0.1:5801", "10.0.0.2:5802", "10.0.0.3:5802"
    members.write_text(
        json.dumps(
            [
                {"address": master, "role": "master", "master": True},
                {"address": worker, "role": "worker"},
                {"address": other, "role": "worker"},
            ]
        )
    )
    assert meta.tenant_id is not None and meta.workspace_id is not None
    with emulator_process("--members", str(members), "--version", "2.3.12") as emu:
        cluster_id = actions.do_declare_cluster(
            metadata=meta,
            tenant_id=meta.tenant_id,
            workspace_id=meta.workspace_id,
            name="installed",
            form="bare_metal",
            mode="separated",
        )
        actions.do_record_installed_nodes(
            metadata=meta,
            cluster=Cluster.unscoped.get(id=cluster_id),
            nodes=[
                {"address": master, "role": "master", "facts": facts(master, "master", emu.url)},
                {"address": worker, "role": "worker", "facts": facts(worker, "worker", "")},
            ],
            endpoints=[emu.url],
        )
        observed = health.poll_one(Cluster.unscoped.get(id=cluster_id), metadata=meta)
        assert observed.reachable, observed
        assert {m.address: m.role for m in observed.members} == {master: "master", worker: "", other: ""}
    roles = dict(Node.unscoped.filter(cluster_id=cluster_id).values_list("address", "role"))
    assert roles == {master: "master", worker: "worker", other: ""}


def test_the_aggregate_keeps_the_installed_role_only_for_an_unknown_role() -> None:
    state = aggregate.ClusterState(
        exists=True,
        fields={"engine_version": "2.3.12"},
        reachable=True,
        nodes={"a:1": {"status": "online", "role": "worker", "installed_role": "worker"}},
    )
    assert aggregate.observe(state, cluster_id="c", reachable=True, members={"a:1": ""}) == []
    (changed,) = aggregate.observe(state, cluster_id="c", reachable=True, members={"a:1": "master"})
    assert (changed.role, changed.previous_role) == ("master", "worker")


def test_the_api_declares_a_cluster_to_install_and_keeps_the_endpoint_rules() -> None:
    from django.test import Client

    from tests.api.world import build_world

    world = build_world()
    client = Client(SERVER_NAME="localhost")
    url = "/api/v1/tenants/acme/workspaces/etl/clusters/"

    def post(body: dict, role: str = "admin") -> tuple[int, dict]:
        answer = client.post(url, body, content_type="application/json", **world.auth(role))
        return answer.status_code, answer.json()

    status, body = post({"name": "to-install", "form": "bare_metal", "mode": "separated", "install": True})
    assert status == 201, body
    assert (body["endpoints"], body["engine_version"], body["mode"]) == ([], "", "separated")
    status, body = post({"name": "x", "form": "bare_metal", "install": True, "endpoints": ["http://10.0.0.1:8080"]})
    assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
        400,
        "CLUSTER_ENDPOINT_INVALID",
        "endpoints",
    )
    status, body = post({"name": "x", "form": "bare_metal"})  # to connect to, a cluster needs its endpoints
    assert (status, body["error"]["code"]) == (400, "CLUSTER_ENDPOINT_INVALID")
    status, body = post({"name": "y", "form": "bare_metal", "install": True}, role="operator")
    assert (status, body["error"]["code"]) == (403, "PERMISSION_DENIED")
