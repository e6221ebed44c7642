"""Operation types: each turns (cluster, parameters) into a plan of steps, and a finished operation's step results
into its result. Planning reads the cluster's agents and writes nothing, so a dry run is the same call.

rolling_restart: on 3.x engines the streaming runs with tasks on a batch's nodes (``/resource/workers``) are paused
before the batch and resumed after it. 2.3.x's REST API does not say which member runs a job, so there they are
paused cluster-wide before the first batch and resumed after the last one (docs/LONG_OPERATIONS.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controlplane.clusters.models import Cluster, node_id
from controlplane.errors import DomainError
from controlplane.operations.domain.aggregate import OperationAggregate
from controlplane.operations.domain.plan import StepSpec, Target, batches
from controlplane.operations.domain.states import StepState

UNAVAILABLE_AGENTS = ("lost", "revoked")


class PlanError(DomainError):
    code = "OPERATION_PARAMS_INVALID"


@dataclass(frozen=True)
class Planned:
    steps: list[StepSpec]
    params: dict[str, Any]  # as understood, with defaults filled in
    notes: list[str] = field(default_factory=list)


Planner = Callable[[Cluster, dict[str, Any]], Planned]
Summarizer = Callable[[OperationAggregate], dict]


@dataclass(frozen=True)
class OperationType:
    name: str
    planner: Planner
    summarize: Summarizer
    description: str = ""
    point: str = "operation.run"  # what requesting one needs on the cluster (a restart: cluster.restart)


_TYPES: dict[str, OperationType] = {}


def register_type(
    name: str,
    planner: Planner,
    summarize: Summarizer | None = None,
    description: str = "",
    point: str = "operation.run",
) -> None:
    _TYPES[name] = OperationType(name, planner, summarize or summarize_steps, description, point)


def point_of(type_name: str) -> str:
    """The permission point a request of this type needs (operation.run for a type that does not exist: the
    refusal comes before the type's own error)."""
    found = _TYPES.get(type_name)
    return found.point if found is not None else "operation.run"


def operation_type(name: str) -> OperationType:
    found = _TYPES.get(name)
    if found is None:
        raise PlanError(
            f"no operation type {name!r} (one of {', '.join(sorted(_TYPES))})",
            code="OPERATION_TYPE_UNKNOWN",
            field="type",
        )
    return found


def type_names() -> list[str]:
    return sorted(_TYPES)


def plan(type_name: str, cluster: Cluster, params: dict[str, Any]) -> Planned:
    from controlplane.operations.steps import known_kinds

    planned = operation_type(type_name).planner(cluster, dict(params or {}))
    kinds = known_kinds()
    for step in planned.steps:
        for kind in (step.kind, step.compensation):
            if kind is not None and kind not in kinds:
                raise PlanError(
                    f"step {step.key} needs a handler {kind!r} that is not installed", code="OPERATION_PLAN_INVALID"
                )
    return planned


def plan_hash(planned: Planned) -> str:
    """The plan's fingerprint: a confirmation names it, so a request runs only the plan that was shown."""
    body = {"params": planned.params, "notes": planned.notes, "steps": [step.to_dict() for step in planned.steps]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def summarizer(type_name: str) -> Summarizer:
    found = _TYPES.get(type_name)
    return found.summarize if found is not None else summarize_steps


# -- parameters --------------------------------------------------------------------------------------------
def _int(params: dict[str, Any], name: str, default: int, minimum: int, maximum: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise PlanError(f"{name} is a whole number from {minimum} to {maximum}", field=name)
    return value


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise PlanError(f"{name} is true or false", field=name)
    return value


def _no_others(params: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise PlanError(f"unknown parameter(s): {', '.join(unknown)}", field=unknown[0])


def _order(item: tuple[Target, str]) -> tuple[str, str, str]:
    target = item[0]
    return (target.address, target.hostname, target.agent_id)


def targets(cluster: Cluster, wanted: Any = None) -> list[Target]:
    """The cluster's nodes that have an agent, by member address; ``wanted`` narrows them (node ids, addresses,
    agent ids or host names). Planning refuses agents that are lost or revoked: they cannot act (a revoked agent
    whose node the cluster no longer lists is left out instead)."""
    from controlplane.agents import dispatch

    agents = dispatch.agents_for_cluster(cluster.tenant_id, cluster.id)
    # A revoked agent of a node the cluster no longer lists (taken out by a scale in) is history, not a node that
    # cannot act: it is left out. While the cluster lists no nodes at all nothing can be told apart, so it counts.
    from controlplane.operations.selectors import cluster_nodes_for_system

    listed = {n.address for n in cluster_nodes_for_system(cluster)}
    if listed:
        agents = [a for a in agents if not (a.status == "revoked" and a.member_address not in listed)]
    if not agents:
        raise PlanError("no agent has registered for a node of this cluster", code="OPERATION_NO_AGENTS")
    found = sorted(
        (
            (
                Target(
                    node_id=node_id(cluster.id, a.member_address) if a.member_address else "",
                    address=a.member_address,
                    agent_id=a.id,
                    hostname=a.hostname,
                ),
                a.status,
            )
            for a in agents
        ),
        key=_order,
    )
    if wanted is not None:
        if not isinstance(wanted, list) or not wanted or not all(isinstance(w, str) for w in wanted):
            raise PlanError("nodes is a non-empty list of node ids, addresses, agent ids or host names", field="nodes")
        chosen = []
        for name in wanted:
            match = [(t, s) for t, s in found if name in (t.node_id, t.address, t.agent_id, t.hostname)]
            if not match:
                raise PlanError(
                    f"no node with an agent is called {name!r}", code="OPERATION_NODE_UNKNOWN", field="nodes"
                )
            chosen += [m for m in match if m not in chosen]
        found = sorted(chosen, key=_order)
    down = [t.hostname or t.agent_id for t, status in found if status in UNAVAILABLE_AGENTS]
    if down:
        raise PlanError(
            f"the agent of {', '.join(down)} cannot act (lost or revoked)", code="OPERATION_AGENT_UNAVAILABLE"
        )
    return [t for t, _ in found]


def _check_action(action: Any, params: Any) -> None:
    from controlplane.agents.domain import catalog

    if not isinstance(action, str) or not action:
        raise PlanError("action names a catalog action type (docs/AGENT_PROTOCOL.md)", field="action")
    if not isinstance(params, dict):
        raise PlanError("params of the action is an object", field="params")
    try:
        catalog.check_params(action, params)
    except DomainError as error:
        raise PlanError(error.message, code="OPERATION_ACTION_INVALID", field="action") from None


def _agent_step(
    key: str, title: str, action: str, params: dict, nodes: list[Target], batch: int | None, **options: Any
) -> StepSpec:
    return StepSpec(
        key=key,
        kind="agent.action",
        title=title,
        runs_in="agent",
        targets=tuple(nodes),
        params={"action": action, "params": params},
        batch=batch,
        timeout_seconds=120,
        **options,
    )


def _names(nodes: list[Target]) -> str:
    return ", ".join(t.hostname or t.address or t.agent_id for t in nodes)


# -- rolling_restart ---------------------------------------------------------------------------------------
def plan_rolling_restart(cluster: Cluster, params: dict[str, Any]) -> Planned:
    _no_others(
        params,
        {
            "batch_size",
            "pause_between_batches_seconds",
            "stop_on_first_failure",
            "nodes",
            "restart_timeout_seconds",
            "rejoin_within_seconds",
        },
    )
    size = _int(params, "batch_size", 1, 1, 1000)
    pause = _int(params, "pause_between_batches_seconds", 0, 0, 86400)
    stop_first = _bool(params, "stop_on_first_failure", True)
    restart_timeout = _int(params, "restart_timeout_seconds", 300, 10, 3600)
    rejoin = _int(params, "rejoin_within_seconds", 180, 5, 3600)
    nodes = targets(cluster, params.get("nodes"))
    groups = batches(nodes, size)
    placement = knows_placement(cluster.engine_version)
    keep_going = {"continue_on_failure": not stop_first}
    steps: list[StepSpec] = []
    if not placement:
        steps.append(_pause_step("pause-streaming-runs", "Pause the cluster's streaming runs with a savepoint"))
    for number, group in enumerate(groups, 1):
        if placement:
            steps.append(
                _pause_step(
                    f"b{number}.pause",
                    f"Batch {number}: pause the streaming runs with tasks on {_names(group)}",
                    group,
                    number,
                )
            )
        steps += [
            _agent_step(
                f"b{number}.restart",
                f"Batch {number}: restart SeaTunnel on {_names(group)}",
                "service.restart",
                {"timeout_seconds": restart_timeout},
                group,
                number,
                **keep_going,
            ),
            _agent_step(
                f"b{number}.health",
                f"Batch {number}: health check on {_names(group)}",
                "health.check",
                {},
                group,
                number,
                **keep_going,
            ),
            StepSpec(
                key=f"b{number}.rejoin",
                kind="node.rejoin",
                title=f"Batch {number}: the cluster lists {_names(group)} again",
                targets=tuple(group),
                params={"within_seconds": rejoin},
                batch=number,
                timeout_seconds=60,
                **keep_going,
            ),
        ]
        if placement:
            steps.append(_resume_step(f"b{number}.resume", f"b{number}.pause", number))
        if pause and number < len(groups):
            steps.append(
                StepSpec(
                    key=f"b{number}.wait",
                    kind="control.wait",
                    title=f"Wait {pause} s before the next batch",
                    params={"seconds": pause},
                    batch=number,
                )
            )
    if not placement:
        steps.append(_resume_step("resume-streaming-runs", "pause-streaming-runs", None))
    understood = {
        "batch_size": size,
        "pause_between_batches_seconds": pause,
        "stop_on_first_failure": stop_first,
        "nodes": [t.node_id or t.agent_id for t in nodes],
        "restart_timeout_seconds": restart_timeout,
        "rejoin_within_seconds": rejoin,
    }
    if placement:
        notes = [
            "Streaming runs are paused batch by batch: those with tasks on the batch's nodes (the engine's "
            "/resource/workers), resumed after the batch. A failed restart resumes them too (compensation)."
        ]
    else:
        notes = [
            f"Streaming runs are paused on the whole cluster before the first batch and resumed after the last: "
            f"the REST API of SeaTunnel {cluster.engine_version or '2.3'} does not say which node runs a job. A failed "
            "restart resumes them too (compensation)."
        ]
    return Planned(steps, understood, notes)


def knows_placement(engine_version: str) -> bool:
    """3.x serves /resource/workers: which jobs have tasks on which worker."""
    head = (engine_version or "").split(".", 1)[0]
    return head.isdigit() and int(head) >= 3


def _pause_step(key: str, title: str, group: list[Target] | None = None, batch: int | None = None) -> StepSpec:
    return StepSpec(
        key=key,
        kind="runs.pause",
        title=title,
        targets=tuple(group or ()),
        params={"placement": True} if group else {},
        batch=batch,
        compensation="runs.resume",
        timeout_seconds=120,
    )


def _resume_step(key: str, pause_key: str, batch: int | None) -> StepSpec:
    return StepSpec(
        key=key,
        kind="runs.resume",
        title="Resume the streaming runs paused by this operation"
        + (f" in batch {batch}" if batch is not None else ""),
        params={"pause_step": pause_key},
        batch=batch,
        timeout_seconds=120,
    )


# -- run_action --------------------------------------------------------------------------------------------
def plan_run_action(cluster: Cluster, params: dict[str, Any]) -> Planned:
    _no_others(
        params, {"action", "params", "nodes", "batch_size", "stop_on_first_failure", "pause_between_batches_seconds"}
    )
    action = params.get("action")
    action_params = params.get("params", {})
    _check_action(action, action_params)
    size = _int(params, "batch_size", 1, 1, 1000)
    stop_first = _bool(params, "stop_on_first_failure", True)
    pause = _int(params, "pause_between_batches_seconds", 0, 0, 86400)
    nodes = targets(cluster, params.get("nodes"))
    groups = batches(nodes, size)
    steps: list[StepSpec] = []
    for number, group in enumerate(groups, 1):
        steps.append(
            _agent_step(
                f"a{number}.{action}",
                f"{action} on {_names(group)}",
                str(action),
                action_params,
                group,
                number,
                continue_on_failure=not stop_first,
            )
        )
        if pause and number < len(groups):
            steps.append(
                StepSpec(
                    key=f"a{number}.wait",
                    kind="control.wait",
                    title=f"Wait {pause} s before the next batch",
                    params={"seconds": pause},
                    batch=number,
                )
            )
    understood = {
        "action": action,
        "params": action_params,
        "nodes": [t.node_id or t.agent_id for t in nodes],
        "batch_size": size,
        "stop_on_first_failure": stop_first,
        "pause_between_batches_seconds": pause,
    }
    return Planned(steps, understood)


def summarize_steps(op: OperationAggregate) -> dict:
    """Per step: its state and result; agent steps per target (the action's state and result)."""
    return {
        "steps": {
            spec.key: {"state": str(status.state), "result": status.result}
            for spec, status in zip(op.plan, op.steps, strict=True)
            if status.state not in (StepState.PENDING, StepState.SKIPPED)
        }
    }


register_type(
    "rolling_restart",
    plan_rolling_restart,
    summarize_steps,
    "Restart SeaTunnel node by node, in batches",
    point="cluster.restart",
)
register_type("run_action", plan_run_action, summarize_steps, "One catalog action on chosen nodes, in batches")
