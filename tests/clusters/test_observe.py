"""The pure decision of what an observation changes (no database, no engine)."""

from __future__ import annotations

import pytest

from controlplane.clusters.domain import aggregate
from controlplane.clusters.domain.aggregate import ClusterState, observe
from controlplane.clusters.health import parse_member, parse_percent, parse_size

LIVE = ClusterState(exists=True, fields={"engine_version": "2.3.12"})


def names(events):
    return [type(e).__name__ for e in events]


class Recorded:
    def __init__(self, data):
        self.data = data


def apply(state, events):
    for event in events:
        state = aggregate.evolve(state, Recorded(event))
    return state


def test_only_changes_are_events():
    state = LIVE
    for members, expected in [
        ({"a:1": "hybrid", "b:1": "hybrid"}, ["NodeJoined", "NodeJoined"]),
        ({"a:1": "hybrid", "b:1": "hybrid"}, []),
        ({"a:1": "hybrid"}, ["NodeLost"]),
        ({"a:1": "hybrid"}, []),
        ({"a:1": "master", "b:1": "hybrid"}, ["NodeReturned", "NodeRoleChanged"]),
    ]:
        events = observe(state, cluster_id="c", reachable=True, engine_version="2.3.12", members=members)
        assert sorted(names(events)) == sorted(expected)
        state = apply(state, events)


def test_reachability_flips_once_each_way_and_nodes_wait():
    state = apply(LIVE, observe(LIVE, cluster_id="c", reachable=True, members={"a:1": "hybrid"}))
    down = observe(state, cluster_id="c", reachable=False, error_code="ZETA_UNREACHABLE", error_message="x" * 900)
    assert names(down) == ["ClusterUnreachable"] and len(down[0].error_message) == 500
    state = apply(state, down)
    assert observe(state, cluster_id="c", reachable=False, error_code="ZETA_UNREACHABLE") == []
    assert state.nodes["a:1"]["status"] == "online"  # not hearing is not losing
    up = observe(state, cluster_id="c", reachable=True, engine_version="2.3.13", members={"a:1": "hybrid"})
    assert names(up) == ["ClusterReachable", "ClusterUpdated"] and up[1].changes == {"engine_version": "2.3.13"}


def test_an_answer_without_member_addresses_or_members_changes_no_node():
    state = apply(LIVE, observe(LIVE, cluster_id="c", reachable=True, members={"a:1": ""}))
    assert observe(state, cluster_id="c", reachable=True, members=None) == []
    assert observe(state, cluster_id="c", reachable=True, members={}) == []


def test_a_removed_cluster_is_not_observed():
    with pytest.raises(aggregate.ClusterError) as info:
        observe(ClusterState(exists=True, removed=True), cluster_id="c", reachable=True)
    assert info.value.code == "CLUSTER_NOT_FOUND"


def test_the_engines_strings():
    assert parse_size("180.0M") == 180 * 1024**2 and parse_size("2.0G") == 2 * 1024**3 and parse_size("512") == 512
    assert parse_size("n/a") is None and parse_size(None) is None
    assert parse_percent("8.79%") == pytest.approx(8.79) and parse_percent("n/a") is None
    old = parse_member({"processors": "8", "heap.memory.max": "1.5G"}, cluster_mode="separated")
    assert (old.address, old.role, old.is_master, old.heap_max) == (None, "", None, int(1.5 * 1024**3))
    new = parse_member({"host": "h", "port": "5802", "isMaster": "false", "nodeRole": "WORKER"}, cluster_mode="hybrid")
    assert (new.address, new.role, new.is_master) == ("h:5802", "worker", False)
