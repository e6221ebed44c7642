"""The installer's operation types as planned (the dry run: nothing is written or run): their steps, the params
each node's action gets, the refusals, and the permission point each needs. What the plans do on real agents and a
real emulated cluster: tests/e2e/test_install_cluster.py."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.errors import DomainError
from controlplane.operations import actions, plans
from controlplane.operations.models import OperationStep
from tests.operations.agent_sim import SimAgent, register_agent
from tests.operations.conftest import Place, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def declared(place: Place) -> tuple[Cluster, list[SimAgent]]:
    cluster_id = clusters.do_declare_cluster(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="to-install",
        form="bare_metal",
        mode="separated",
    )
    cluster = Cluster.unscoped.get(id=cluster_id)
    agents = [register_agent(place.meta, cluster, f"node{i}", f"10.0.0.{i}:8080") for i in (1, 2, 3)]
    return cluster, agents


def install_params(agents: list[SimAgent], **overrides: Any) -> dict[str, Any]:
    return {
        "version": "2.3.12",
        "mirror": "https://mirror.example.org/seatunnel",
        "nodes": [
            {"node": agents[0].hostname, "role": "master"},
            {"node": agents[1].id, "role": "worker", "http_port": 8081},
        ],
        **overrides,
    }


def refusal(cluster: Cluster, type_: str, params: dict[str, Any]) -> DomainError:
    with pytest.raises(DomainError) as info:
        plans.plan(type_, cluster, params)
    return info.value


def test_install_cluster_plans_masters_then_workers_with_each_nodes_params(declared) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    planned = plans.plan("install_cluster", cluster, install_params(agents))
    assert [(s.key, s.kind, s.compensation) for s in planned.steps] == [
        ("plan", "agent.action", None),
        ("review", "installer.review", None),
        ("masters", "agent.action", "installer.uninstall"),
        ("workers", "agent.action", "installer.uninstall"),
        ("register", "installer.register", None),
    ]
    steps = {s.key: s for s in planned.steps}
    assert [t.agent_id for t in steps["masters"].targets] == [agents[0].id]
    assert [t.agent_id for t in steps["workers"].targets] == [agents[1].id]
    master = steps["masters"].params["per_agent"][agents[0].id]
    worker = steps["workers"].params["per_agent"][agents[1].id]
    members = "10.0.0.1:5801,10.0.0.2:5802"
    assert master == {
        "version": "2.3.12",
        "mirror": "https://mirror.example.org/seatunnel",
        "form": "process",
        "health_timeout_seconds": 180,
        "prefix": "/opt/seatunnel",
        "role": "master",
        "host": "10.0.0.1",
        "expected_members": 1,  # the masters come up before any worker
        "members": members,
    }
    assert worker["members"] == members and worker["expected_members"] == 2 and worker["http_port"] == 8081
    plan_step = steps["plan"].params
    assert plan_step["action"] == "installer.plan"
    assert plan_step["per_agent"][agents[0].id] == {**master, "operation": "install"}
    assert steps["register"].params == {"install_steps": ["masters", "workers"], "mode": "separated"}
    assert planned.params["nodes"][1]["member"] == "10.0.0.2:5802"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"version": None}, "OPERATION_PARAMS_INVALID", "version"),
        ({"nodes": []}, "OPERATION_PARAMS_INVALID", "nodes"),
        ({"nodes": [{"node": "node1", "role": "master"}]}, "OPERATION_PARAMS_INVALID", "nodes"),  # no worker
        (
            {"nodes": [{"node": "node1", "role": "hybrid"}, {"node": "node2", "role": "worker"}]},
            "OPERATION_PARAMS_INVALID",
            "nodes",
        ),
        ({"nodes": [{"node": "nobody", "role": "master"}]}, "OPERATION_NODE_UNKNOWN", "nodes"),
        ({"nodes": [{"node": "node1", "role": "boss"}]}, "OPERATION_PARAMS_INVALID", "nodes.0.role"),
        ({"nodes": [{"node": "node1", "role": "master", "http_port": 70000}]}, "OPERATION_PARAMS_INVALID", None),
        ({"source": "ftp://example.org/x.tar.gz"}, "OPERATION_ACTION_INVALID", "params.source"),
        ({"sha512": "abc"}, "OPERATION_ACTION_INVALID", "params.sha512"),
        ({"form": "chroot"}, "OPERATION_PARAMS_INVALID", "form"),
        ({"surprise": 1}, "OPERATION_PARAMS_INVALID", "surprise"),
    ],
)
def test_install_cluster_refuses_bad_params(declared, change, code, field) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    params = install_params(agents)
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    error = refusal(cluster, "install_cluster", params)
    assert error.code == code, error
    if field is not None:
        assert error.details.get("field") == field, error.details


def test_an_installed_cluster_is_not_installed_again(place: Place) -> None:
    register_agent(place.meta, place.cluster, "node1", "10.0.0.1:8080")
    error = refusal(place.cluster, "install_cluster", {"version": "2.3.12", "nodes": [{"node": "node1"}]})
    assert error.code == "OPERATION_CLUSTER_INSTALLED"


def _record(place: Place, cluster: Cluster, nodes: list[tuple[str, str]]) -> Cluster:
    clusters.do_record_installed_nodes(
        metadata=place.meta,
        cluster=cluster,
        nodes=[
            {
                "address": address,
                "role": role,
                "facts": {
                    "role": role,
                    "prefix": "/srv/st",
                    "form": "process",
                    "cluster_name": "seatunnel",
                    "members": ["10.0.0.1:5801", "10.0.0.2:5802"],
                    "rest_endpoint": f"http://{address}",
                },
            }
            for address, role in nodes
        ],
        engine_version="2.3.12",
        endpoints=["http://10.0.0.1:8080"],
        mode="separated",
    )
    return Cluster.unscoped.get(id=cluster.id)


def test_scale_out_adds_workers_with_the_clusters_member_list(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    cluster = _record(place, cluster, [("10.0.0.1:8080", "master"), ("10.0.0.2:8080", "worker")])
    planned = plans.plan("scale_out", cluster, {"nodes": [{"node": "node3"}]})
    assert [s.key for s in planned.steps] == ["plan", "review", "workers", "register"]
    params = planned.steps[2].params["per_agent"][agents[2].id]
    assert params["version"] == "2.3.12" and params["prefix"] == "/srv/st" and params["role"] == "worker"
    assert params["members"] == "10.0.0.1:5801,10.0.0.2:5802,10.0.0.3:5802"
    assert refusal(cluster, "scale_out", {"nodes": [{"node": "node2"}]}).code == "OPERATION_NODE_INSTALLED"
    assert refusal(cluster, "scale_out", {"nodes": [{"node": "node3", "role": "master"}]}).details["field"] == (
        "nodes.0.role"
    )


def test_scale_in_drains_workers_and_keeps_a_master_and_a_worker(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    cluster = _record(
        place, cluster, [("10.0.0.1:8080", "master"), ("10.0.0.2:8080", "worker"), ("10.0.0.3:8080", "worker")]
    )
    planned = plans.plan("scale_in", cluster, {"nodes": ["node3"]})
    # 2.3.12 does not say which node runs a job: every streaming run is paused (with a savepoint) around it
    assert [(s.key, s.kind) for s in planned.steps] == [
        ("pause-streaming-runs", "runs.pause"),
        ("b1.uninstall", "agent.action"),
        ("b1.deregister", "installer.deregister"),
        ("resume-streaming-runs", "runs.resume"),
    ]
    assert planned.steps[1].params["per_agent"][agents[2].id] == {"prefix": "/srv/st", "purge": False}
    assert refusal(cluster, "scale_in", {"nodes": ["node2", "node3"]}).code == "OPERATION_LAST_NODES"
    assert refusal(cluster, "scale_in", {"nodes": ["node1"]}).code in (
        "OPERATION_LAST_NODES",
        "OPERATION_NODE_IS_MASTER",
    )


def test_upgrade_cluster_goes_masters_first_and_rolls_back_by_compensation(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    cluster = _record(place, cluster, [("10.0.0.2:8080", "worker"), ("10.0.0.1:8080", "master")])
    planned = plans.plan("upgrade_cluster", cluster, {"version": "2.3.13", "nodes": ["node1", "node2"]})
    upgrades = [s for s in planned.steps if s.kind == "installer.upgrade"]
    assert [(s.key, s.targets[0].agent_id, s.compensation) for s in upgrades] == [
        ("b1.upgrade", agents[0].id, "installer.rollback"),
        ("b2.upgrade", agents[1].id, "installer.rollback"),
    ]
    assert upgrades[0].params["per_agent"][agents[0].id]["prefix"] == "/srv/st"
    unknown = refusal(cluster, "upgrade_cluster", {"version": "2.3.13"})  # node3 was not installed by us
    assert unknown.code == "OPERATION_CLUSTER_NOT_INSTALLED"


def test_each_type_needs_its_point_and_an_operator_holds_neither(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    assert {t: plans.point_of(t) for t in ("install_cluster", "scale_out", "scale_in", "upgrade_cluster")} == {
        "install_cluster": "cluster.install",
        "scale_out": "cluster.install",
        "scale_in": "cluster.install",
        "upgrade_cluster": "cluster.upgrade",
    }
    operator = person(place, "olga", "operator")
    with pytest.raises(DomainError) as info:
        actions.do_request_operation(
            metadata=operator, cluster=cluster, type="install_cluster", params=install_params(agents)
        )
    assert info.value.code == "PERMISSION_DENIED" and info.value.details["permission"] == "cluster.install"
    admin = person(place, "ada", "admin")
    operation_id = actions.do_request_operation(
        metadata=admin, cluster=cluster, type="install_cluster", params=install_params(agents)
    )
    assert operation_id


# -- run with agents played through the agent-side functions (tests/operations/agent_sim.py) ----------------------
def _plan_result(refusals: list[dict] | None = None) -> dict:
    return {"result": {"operation": "install", "changes": [{"kind": "link"}], "checks": [], "refusals": refusals or []}}


def _installed_result(action: dict, role: str) -> dict:
    address = {"node1": "10.0.0.1:8080", "node2": "10.0.0.2:8080", "node3": "10.0.0.3:8080"}
    host = action["params"]["host"]
    member = next(a for a in address.values() if a.startswith(host + ":"))
    return {
        "result": {"operation": action["type"].removeprefix("installer.")},
        "facts": {
            "member_address": member,
            "role": role,
            "rest_endpoint": f"http://{member}",
            "engine_version": action["params"].get("version", "2.3.12"),
            "prefix": action["params"]["prefix"],
            "members": (action["params"].get("members") or "").split(","),
        },
    }


def test_a_refused_plan_stops_the_install_before_anything_changes(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    from tests.operations.test_types import drive, steps

    cluster, agents = declared

    def outcome(action: dict) -> tuple[str, dict, str]:
        refusals = [{"code": "INSTALLER_PORT_IN_USE", "message": "port 5802 is in use"}]
        worker = action["agent_id"] == agents[1].id
        return "succeeded", _plan_result(refusals if worker else None), ""

    op_id = actions.do_request_operation(
        metadata=place.meta, cluster=cluster, type="install_cluster", params=install_params(agents)
    )
    op = drive(op_id, agents[:2], outcome)
    assert op.state == "FAILED" and op.error_code == "OPERATION_INSTALL_PLAN_REFUSED", steps(op_id)
    assert steps(op_id) == {
        "plan": "SUCCEEDED",
        "review": "FAILED",
        "masters": "SKIPPED",
        "workers": "SKIPPED",
        "register": "SKIPPED",
    }
    assert {a["type"] for agent in agents for a in agent.seen} == {"installer.plan"}  # nothing was installed


def test_a_failed_worker_install_uninstalls_the_masters(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    from tests.operations.test_types import drive, steps

    cluster, agents = declared

    def outcome(action: dict) -> tuple[str, dict, str]:
        if action["type"] == "installer.plan":
            return "succeeded", _plan_result(), ""
        if action["type"] == "installer.install" and action["params"]["role"] == "worker":
            return "failed", {"error": {"code": "INSTALLER_HEALTH_FAILED"}}, "INSTALLER_HEALTH_FAILED"
        if action["type"] == "installer.install":
            return "succeeded", _installed_result(action, "master"), ""
        return "succeeded", {"result": {"operation": "uninstall"}, "facts": {}}, ""

    op_id = actions.do_request_operation(
        metadata=place.meta, cluster=cluster, type="install_cluster", params=install_params(agents)
    )
    op = drive(op_id, agents[:2], outcome)
    assert op.state == "ROLLED_BACK", steps(op_id)
    assert steps(op_id)["masters"] == "COMPENSATED" and steps(op_id)["workers"] == "FAILED"
    assert [a["type"] for a in agents[0].seen] == ["installer.plan", "installer.install", "installer.uninstall"]
    assert agents[0].seen[-1]["params"] == {"prefix": "/opt/seatunnel", "purge": False}
    assert Cluster.unscoped.get(id=cluster.id).endpoints == []  # nothing registered


def test_a_batch_whose_one_node_fails_its_upgrade_rolls_back_the_others_of_the_batch(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    from tests.operations.test_types import drive, steps

    cluster, agents = declared
    cluster = _record(place, cluster, [("10.0.0.2:8080", "worker"), ("10.0.0.3:8080", "worker")])
    _record(place, cluster, [("10.0.0.1:8080", "master")])
    cluster = Cluster.unscoped.get(id=cluster.id)

    def outcome(action: dict) -> tuple[str, dict, str]:
        if action["type"] == "installer.plan":
            return "succeeded", _plan_result(), ""
        if action["type"] == "installer.upgrade" and action["agent_id"] == agents[1].id:
            return "failed", {"error": {"code": "INSTALLER_ROLLED_BACK"}}, "INSTALLER_ROLLED_BACK"
        return "succeeded", {"result": {}, "facts": {}}, ""

    op_id = actions.do_request_operation(
        metadata=place.meta,
        cluster=cluster,
        type="upgrade_cluster",
        params={"version": "2.3.13", "batch_size": 2, "nodes": ["node1", "node2", "node3"]},
    )
    op = drive(op_id, agents, outcome)
    assert op.state == "ROLLED_BACK", steps(op_id)
    # batch 1: node1 (the master) and node2, whose upgrade fails: the step rolls node1 back before it fails
    assert steps(op_id)["b1.upgrade"] == "FAILED" and steps(op_id)["b2.upgrade"] == "SKIPPED"
    kinds = {agent.hostname: [a["type"] for a in agent.seen] for agent in agents}
    assert kinds == {
        "node1": ["installer.plan", "installer.upgrade", "installer.rollback"],
        "node2": ["installer.plan", "installer.upgrade"],  # it rolled itself back (INSTALLER_ROLLED_BACK)
        "node3": ["installer.plan"],
    }
    failed = OperationStep.unscoped.get(operation_id=op_id, key="b1.upgrade")
    assert failed.error_code == "INSTALLER_ROLLED_BACK" and failed.result["rolled_back"] == [agents[0].id]


def test_asking_an_agent_for_an_installer_action_directly_needs_the_installers_point(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    from controlplane.agents import actions as agent_actions

    _, agents = declared
    operator = person(place, "otto", "operator")  # holds operation.run: may restart, diagnose, read status
    params = {"prefix": "/opt/seatunnel", "version": "2.3.12"}
    for action_type, point in (("installer.install", "cluster.install"), ("installer.upgrade", "cluster.upgrade")):
        with pytest.raises(DomainError) as info:
            agent_actions.do_request_action(
                metadata=operator, agent_id=agents[0].id, action_type=action_type, params=params, key=action_type
            )
        assert (info.value.code, info.value.details["permission"]) == ("PERMISSION_DENIED", point)
    status = agent_actions.do_request_action(
        metadata=operator,
        agent_id=agents[0].id,
        action_type="installer.status",
        params={"prefix": "/opt/seatunnel"},
        key="status",
    )
    admin = person(place, "adele", "admin")
    install = agent_actions.do_request_action(
        metadata=admin, agent_id=agents[0].id, action_type="installer.install", params=params, key="install"
    )
    assert status and install


def test_scale_in_on_3x_pauses_only_the_runs_placed_on_each_batch(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    cluster, agents = declared
    cluster = _record(
        place, cluster, [("10.0.0.1:8080", "master"), ("10.0.0.2:8080", "worker"), ("10.0.0.3:8080", "worker")]
    )
    clusters.do_record_installed_nodes(metadata=place.meta, cluster=cluster, nodes=[], engine_version="3.0.0")
    cluster = Cluster.unscoped.get(id=cluster.id)
    planned = plans.plan("scale_in", cluster, {"nodes": ["node3"]})
    assert [(s.key, s.kind, s.compensation) for s in planned.steps] == [
        ("b1.pause", "runs.pause", "runs.resume"),
        ("b1.uninstall", "agent.action", None),
        ("b1.deregister", "installer.deregister", None),
        ("b1.resume", "runs.resume", None),
    ]
    pause = planned.steps[0]
    assert pause.params == {"placement": True} and [t.agent_id for t in pause.targets] == [agents[2].id]


def test_the_revoked_agent_of_a_node_taken_out_does_not_block_later_operations(place: Place, declared) -> None:  # type: ignore[no-untyped-def]
    from controlplane.agents import actions as agent_actions

    cluster, agents = declared
    cluster = _record(
        place, cluster, [("10.0.0.1:8080", "master"), ("10.0.0.2:8080", "worker"), ("10.0.0.3:8080", "worker")]
    )
    # what scale_in's deregister step does: the node out of the cluster, its agent revoked
    clusters.do_remove_node(metadata=place.meta, cluster=cluster, address="10.0.0.3:8080")
    agent_actions.do_revoke_agent(metadata=place.meta, agent_id=agents[2].id, reason="scale_in")
    cluster = Cluster.unscoped.get(id=cluster.id)
    planned = plans.plan("upgrade_cluster", cluster, {"version": "2.3.13"})
    upgraded = [s.targets[0].agent_id for s in planned.steps if s.kind == "installer.upgrade"]
    assert upgraded == [agents[0].id, agents[1].id]
    assert [t.agent_id for t in plans.targets(cluster)] == [agents[0].id, agents[1].id]
    # a revoked agent of a node the cluster still lists cannot act: refused, as before
    agent_actions.do_revoke_agent(metadata=place.meta, agent_id=agents[1].id, reason="lost its disk")
    assert refusal(cluster, "upgrade_cluster", {"version": "2.3.13"}).code == "OPERATION_AGENT_UNAVAILABLE"
