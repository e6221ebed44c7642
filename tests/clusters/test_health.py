"""Nodes and health from one poll per cluster, against real emulator processes and a real database.

Only transitions become events: reachability, members joining, leaving, returning, changing role, and the
engine version; a poll that sees nothing new appends nothing.
"""

from __future__ import annotations

import json
import socket

import pytest

from controlplane.clusters import actions, health
from controlplane.clusters.connect import client_for
from controlplane.clusters.models import Cluster, Health, Node
from controlplane.eventlog.maintenance import rebuild
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.store import read_stream
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.secrets import actions as secrets
from controlplane.tenancy import actions as tenancy
from tests.eventlog.fingerprint import read_model_fingerprint

pytestmark = pytest.mark.django_db

SEPARATED = [
    {"address": "10.0.0.1:5801", "role": "master", "master": True},
    {"address": "10.0.0.2:5801", "role": "master"},
    {"address": "10.0.0.3:5802", "role": "worker"},
]


@pytest.fixture
def place():
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    meta = Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)
    return tenant_id, workspace_id, meta


@pytest.fixture
def members_file(tmp_path):
    path = tmp_path / "members.json"

    def write(members: list[dict]) -> str:
        path.write_text(json.dumps(members))
        return str(path)

    write(SEPARATED)
    return write


def register(place, url: str, **overrides) -> Cluster:
    tenant_id, workspace_id, meta = place
    fields = {"name": "zeta", "form": "bare_metal", "mode": "separated", "endpoints": [url], **overrides}
    cluster_id = actions.do_register_cluster(metadata=meta, tenant_id=tenant_id, workspace_id=workspace_id, **fields)
    return Cluster.unscoped.get(id=cluster_id)


def poll(cluster_id: str) -> health.ClusterHealth:
    cluster = Cluster.unscoped.get(id=cluster_id)
    metadata = Metadata.for_system(cluster.tenant_id, reason=health.POLL_REASON, workspace_id=cluster.workspace_id)
    with client_for(cluster, timeout=2.0, retries=0) as client:
        return health.poll_cluster(cluster, client, metadata=metadata)


def types(cluster_id: str) -> list[str]:
    return [e.event_type for e in read_stream(f"cluster-{cluster_id}")]


def nodes(cluster_id: str) -> dict[str, tuple[str, str]]:
    return {n.address: (n.role, n.status) for n in Node.unscoped.filter(cluster_id=cluster_id)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_healthy_poll_fills_health_and_nodes(place, members_file):
    with emulator_process("--members", members_file(SEPARATED)) as emu:
        cluster = register(place, emu.url)
        result = poll(cluster.id)
        assert result.reachable and result.members_identified and result.error_code == ""
        assert result.events == ("clusters.node_joined",) * 3
        row = Health.unscoped.get(cluster_id=cluster.id)
        assert (row.reachable, row.engine_version, row.running_jobs, row.tenant_id) == (
            True,
            "2.3.12",
            0,
            cluster.tenant_id,
        )
        assert len(row.members) == 3 and row.last_reachable_at == row.checked_at
        master = next(m for m in row.members if m["is_master"])
        assert master["address"] == "10.0.0.1:5801" and master["heap_max"] == 2 * 1024**3
        assert master["heap_used"] == 180 * 1024**2 and master["cpu_process_percent"] == pytest.approx(4.1)
        assert row.heap_max == 3 * 2 * 1024**3 and set(row.last_seen) == {m["address"] for m in SEPARATED}
        # separated mode on an engine that does not name roles: the active master is known, the rest is not
        assert nodes(cluster.id) == {
            "10.0.0.1:5801": ("master", "online"),
            "10.0.0.2:5801": ("", "online"),
            "10.0.0.3:5802": ("", "online"),
        }
        # the same picture again: nothing new in the log, only the observation is refreshed
        again = poll(cluster.id)
        assert again.events == () and Health.unscoped.get(cluster_id=cluster.id).checked_at == again.checked_at
        assert types(cluster.id) == ["clusters.cluster_registered", *["clusters.node_joined"] * 3]
        assert Cluster.unscoped.get(id=cluster.id).version == 4  # the read model follows the stream


def test_unreachable_once_then_reachable_again_with_the_new_version(place, members_file):
    port = free_port()
    members = members_file(SEPARATED)
    with emulator_process("--port", str(port), "--members", members) as emu:
        cluster = register(place, emu.url)
        poll(cluster.id)
    before = types(cluster.id)
    down = poll(cluster.id)
    assert (down.reachable, down.error_code, down.events) == (
        False,
        "ZETA_UNREACHABLE",
        ("clusters.cluster_unreachable",),
    )
    row = Health.unscoped.get(cluster_id=cluster.id)
    assert (row.reachable, row.error_code, row.members, row.running_jobs) == (False, "ZETA_UNREACHABLE", [], None)
    assert row.last_reachable_at < row.checked_at
    assert poll(cluster.id).events == ()  # still down: no second event
    assert types(cluster.id) == [*before, "clusters.cluster_unreachable"]
    # nodes keep their last known status while nobody can be heard
    assert {status for _, status in nodes(cluster.id).values()} == {"online"}
    with emulator_process("--port", str(port), "--members", members, "--version", "2.3.13"):
        up = poll(cluster.id)
        assert up.reachable and up.events == ("clusters.cluster_reachable", "clusters.cluster_updated")
        assert poll(cluster.id).events == ()
    events = read_stream(f"cluster-{cluster.id}")
    assert events[-2].payload == {"cluster_id": cluster.id, "engine_version": "2.3.13"}
    assert events[-1].payload["changes"] == {"engine_version": "2.3.13"}
    assert events[-3].payload["error_code"] == "ZETA_UNREACHABLE" and events[-3].metadata.actor.kind == "system"
    assert Cluster.unscoped.get(id=cluster.id).engine_version == "2.3.13"


def test_nodes_lost_returned_and_the_master_moving(place, members_file):
    with emulator_process("--members", members_file(SEPARATED)) as emu:
        cluster = register(place, emu.url)
        poll(cluster.id)
        first_seen = Health.unscoped.get(cluster_id=cluster.id).last_seen["10.0.0.3:5802"]
        members_file(SEPARATED[:2])  # the worker leaves
        assert poll(cluster.id).events == ("clusters.node_lost",)
        assert poll(cluster.id).events == ()
        assert nodes(cluster.id)["10.0.0.3:5802"] == ("", "lost")
        row = Health.unscoped.get(cluster_id=cluster.id)
        assert row.last_seen["10.0.0.3:5802"] == first_seen  # when it was last listed
        members_file(SEPARATED)  # it comes back
        assert poll(cluster.id).events == ("clusters.node_returned",)
        assert nodes(cluster.id)["10.0.0.3:5802"] == ("", "online")
        # the active master goes away and the standby takes over
        members_file([{**SEPARATED[1], "master": True}, SEPARATED[2]])
        assert poll(cluster.id).events == ("clusters.node_role_changed", "clusters.node_lost")
        assert nodes(cluster.id) == {
            "10.0.0.1:5801": ("master", "lost"),
            "10.0.0.2:5801": ("master", "online"),
            "10.0.0.3:5802": ("", "online"),
        }
        # a new member joins
        members_file([{**SEPARATED[1], "master": True}, SEPARATED[2], {"address": "10.0.0.4:5802", "role": "worker"}])
        assert poll(cluster.id).events == ("clusters.node_joined",)
    changed = read_stream(f"cluster-{cluster.id}")[-3]
    assert changed.payload == {
        "cluster_id": cluster.id,
        "address": "10.0.0.2:5801",
        "role": "master",
        "previous_role": "",
    }


def test_roles_from_the_engine_or_the_clusters_mode(place, members_file):
    # 3.x engines name each member's role; a hybrid cluster's members are all master and worker
    with emulator_process("--members", members_file(SEPARATED), "--version", "3.0.0") as emu:
        cluster = register(place, emu.url)
        poll(cluster.id)
        assert {role for role, _ in nodes(cluster.id).values()} == {"master", "worker"}
        assert nodes(cluster.id)["10.0.0.3:5802"] == ("worker", "online")
    with emulator_process("--members", members_file(SEPARATED[:2])) as emu:
        hybrid = register(place, emu.url, name="hybrid", mode="hybrid")
        poll(hybrid.id)
        assert {role for role, _ in nodes(hybrid.id).values()} == {"hybrid"}


def test_poll_all_polls_every_live_cluster_and_one_failure_stops_nothing(place, members_file, monkeypatch):
    tenant_id, workspace_id, meta = place
    with emulator_process("--members", members_file(SEPARATED[:1])) as emu:
        good = register(place, emu.url, name="good")
        secret_id = secrets.do_create_secret(
            metadata=meta, tenant_id=tenant_id, workspace_id=workspace_id, name="zeta-auth", value="u:p"
        )
        guarded = register(place, emu.url, name="secret-gone", auth_secret="zeta-auth")
        broken = register(place, emu.url, name="broken")
        removed = register(place, emu.url, name="removed")
        actions.do_remove_cluster(metadata=meta, cluster=removed)
        secrets.do_delete_secret(metadata=meta, secret_id=secret_id)
        real_poll_one = health.poll_one

        def flaky(cluster, **kwargs):
            if cluster.id == broken.id:
                raise RuntimeError("a bug that only this cluster triggers")
            return real_poll_one(cluster, **kwargs)

        monkeypatch.setattr(health, "poll_one", flaky)
        counts = health.poll_all()
    assert counts == {"reachable": 1, "unreachable": 1, "failed": 1}
    assert Health.unscoped.get(cluster_id=good.id).reachable
    # each cluster's poll is recorded as the system, in that cluster's tenant and workspace
    joined = read_stream(f"cluster-{good.id}")[-1]
    assert joined.event_type == "clusters.node_joined"
    assert (joined.metadata.actor, joined.metadata.tenant_id, joined.metadata.workspace_id) == (
        Actor.system("clusters.poll_health"),
        tenant_id,
        workspace_id,
    )
    assert Health.unscoped.get(cluster_id=guarded.id).error_code == "CLUSTER_AUTH_INVALID"
    assert not Health.unscoped.filter(cluster_id__in=[broken.id, removed.id]).exists()


def test_nodes_rebuild_row_for_row_from_the_log(place, members_file):
    with emulator_process("--members", members_file(SEPARATED)) as emu:
        cluster = register(place, emu.url)
        poll(cluster.id)
        members_file(SEPARATED[1:])
        poll(cluster.id)
    poll(cluster.id)  # unreachable
    before = read_model_fingerprint()
    assert len(before["clusters_node"]) == 3
    rebuild()
    assert read_model_fingerprint() == before


def test_removing_a_cluster_removes_its_nodes(place, members_file):
    _, _, meta = place
    with emulator_process("--members", members_file(SEPARATED)) as emu:
        cluster = register(place, emu.url)
        poll(cluster.id)
    actions.do_remove_cluster(metadata=meta, cluster=Cluster.unscoped.get(id=cluster.id))
    assert not Node.unscoped.filter(cluster_id=cluster.id).exists()


def test_the_beat_task_polls_every_interval(place, settings):
    from controlplane.clusters.tasks import poll_health

    entry = settings.CELERY_BEAT_SCHEDULE["clusters-poll-health"]
    assert entry["task"] == poll_health.name == "clusters.poll_health"
    assert entry["schedule"] == 15 and entry["options"]["expires"] == 15
    with emulator_process() as emu:
        cluster = register(place, emu.url, mode="hybrid")
        assert poll_health() == {"reachable": 1, "unreachable": 0, "failed": 0}
    assert nodes(cluster.id) == {"127.0.0.1:5801": ("hybrid", "online")}
