"""The installer's operations (docs/INSTALLER.md, "Through the control plane"): install a cluster on its agents'
nodes, upgrade it batch by batch, scale it out and in. Each drives the agents' `installer.*` actions
(agent/installer_actions.py) and registers what the nodes report through the clusters app's writers.

Every plan starts with `installer.plan` on every node it touches and a review step that stops the operation before
anything changes when a node's plan has refusals or failed checks (a port in use, no Java, a downgrade).

- install_cluster: plan → review → masters (and hybrids) → workers → register (the cluster's endpoints, version,
  nodes and their facts). A failed install uninstalls the nodes already installed (compensation).
- upgrade_cluster: plan → review → per batch: pause the streaming runs (by placement on 3.x, cluster-wide before the
  first batch on 2.3.x) → `installer.upgrade` (the core rolls a node back by itself when its health check fails) →
  resume; then register. A failed batch stops the operation; the compensations roll the upgraded batches back
  (`installer.rollback`) and resume the paused runs.
- scale_out: install workers on new agents with the member list the cluster was installed with, then register.
- scale_in: per batch: pause the streaming runs with tasks on the nodes (3.x placement; 2.3.x: all of them, the
  engine cannot say), so no task is killed without a savepoint → `installer.uninstall` (stops the engine) →
  deregister the node (and revoke its agent) → resume the runs on the remaining nodes.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from controlplane.clusters.models import Cluster
from controlplane.operations import selectors
from controlplane.operations.domain.aggregate import OperationAggregate
from controlplane.operations.domain.plan import StepSpec, Target, batches
from controlplane.operations.plans import (
    PlanError,
    Planned,
    _bool,
    _int,
    _no_others,
    _pause_step,
    _resume_step,
    knows_placement,
    register_type,
    summarize_steps,
    targets,
)
from controlplane.operations.steps import Done, Outcome, StepContext, StepError, run_agent_actions, step_kind

ROLES = ("hybrid", "master", "worker")
FORMS = ("process", "systemd", "compose", "k8s")
CLUSTER_FORMS = {"process": "bare_metal", "systemd": "bare_metal", "compose": "compose", "k8s": "kubernetes"}
DEFAULT_PREFIX = "/opt/seatunnel"
# An agent step of the installer waits on its actions without holding a worker (each handler call returns at
# once), so its own time limit is short; the action itself runs as long as the core needs on the node.
AGENT_STEP_SECONDS = 120
INSTALL_ACTION_EXPIRY = 3600  # an action not started within an hour is not started (the agent was offline)
SPEC_PARAMS = ("version", "source", "mirror", "sha512", "form", "cluster_name", "heap", "health_timeout_seconds")
NODE_PARAMS = {"node", "role", "host", "member_port", "http_port", "prefix"}


# -- parameters --------------------------------------------------------------------------------------------------
def _text(params: dict[str, Any], name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = params.get(name, default)
    if value is None:
        if required:
            raise PlanError(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{name} is a non-empty text", field=name)
    return value.strip()


def _spec_params(params: dict[str, Any], *, version_required: bool, defaults: dict[str, Any]) -> dict[str, Any]:
    """The installer params every node shares, checked against the action's schema later (per node)."""
    spec: dict[str, Any] = {}
    version = _text(params, "version", defaults.get("version"), required=version_required)
    if version:
        spec["version"] = version
    for name in ("source", "mirror", "sha512", "cluster_name", "heap"):
        value = _text(params, name, defaults.get(name))
        if value is not None:
            spec[name] = value
    form = _text(params, "form", defaults.get("form", "process"))
    if form not in FORMS:
        raise PlanError(f"form is one of {', '.join(FORMS)}", field="form")
    spec["form"] = form
    spec["health_timeout_seconds"] = _int(params, "health_timeout_seconds", 180, 5, 3600)
    return spec


def _check_action(action_type: str, params: dict[str, Any], field: str) -> None:
    from controlplane.agents.domain import catalog
    from controlplane.errors import DomainError

    try:
        catalog.check_params(action_type, params)
    except DomainError as error:
        raise PlanError(
            f"{field}: {error.message}", code="OPERATION_ACTION_INVALID", field=error.details.get("field") or field
        ) from None


def _host_of(target: Target) -> str:
    if target.address:
        host = target.address.rpartition(":")[0]
        return host.strip("[]") or target.hostname
    return target.hostname


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _node_entries(cluster: Cluster, params: dict[str, Any], *, default_role: str | None) -> list[dict[str, Any]]:
    """`nodes`: [{node (agent id, host name, address or node id), role, host, member_port, http_port, prefix}]."""
    wanted = params.get("nodes")
    if not isinstance(wanted, list) or not wanted or not all(isinstance(n, dict) for n in wanted):
        raise PlanError("nodes is a non-empty list of {node, role, ...} objects", field="nodes")
    entries = []
    for index, item in enumerate(wanted):
        unknown = sorted(set(item) - NODE_PARAMS)
        if unknown:
            raise PlanError(f"nodes[{index}]: unknown key(s) {', '.join(unknown)}", field=f"nodes.{index}")
        name = item.get("node")
        if not isinstance(name, str) or not name:
            raise PlanError(f"nodes[{index}].node names an agent of the cluster", field=f"nodes.{index}.node")
        target = targets(cluster, [name])[0]
        role = item.get("role", default_role)
        if role not in ROLES:
            raise PlanError(f"nodes[{index}].role is one of {', '.join(ROLES)}", field=f"nodes.{index}.role")
        if default_role == "worker" and role != "worker":
            raise PlanError("a scale out adds workers", field=f"nodes.{index}.role")
        ports = {}
        for port_name in ("member_port", "http_port"):
            if port_name in item:
                ports[port_name] = _int(item, port_name, 0, 1, 65535)
        host = item.get("host") or _host_of(target)
        if not isinstance(host, str) or not host:
            raise PlanError(f"nodes[{index}].host is a host name or address", field=f"nodes.{index}.host")
        prefix = item.get("prefix", params.get("prefix", DEFAULT_PREFIX))
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise PlanError("prefix is an absolute path", field="prefix")
        entries.append({"target": target, "role": role, "host": host, "prefix": prefix, **ports})
    agents = [e["target"].agent_id for e in entries]
    if len(set(agents)) != len(agents):
        raise PlanError("a node is listed twice", field="nodes")
    return entries


def _member(entry: dict[str, Any]) -> str:
    port = entry.get("member_port") or (5802 if entry["role"] == "worker" else 5801)
    return f"{_bracket(entry['host'])}:{port}"


def _node_params(entry: dict[str, Any], spec: dict[str, Any], members: list[str], expected: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        **spec,
        "prefix": entry["prefix"],
        "role": entry["role"],
        "host": entry["host"],
        "expected_members": expected,
    }
    if entry["role"] != "hybrid" or len(members) > 1:
        params["members"] = ",".join(members)
    for port_name in ("member_port", "http_port"):
        if entry.get(port_name):
            params[port_name] = entry[port_name]
    return params


def _plan_params(params: dict[str, Any], operation: str) -> dict[str, Any]:
    keep = {k: v for k, v in params.items() if k not in ("resume", "force")}
    return {**keep, "operation": operation}


def _agent_step(
    key: str,
    title: str,
    action: str,
    per_agent: dict[str, dict],
    nodes: list[Target],
    batch: int | None,
    **options: Any,
) -> StepSpec:
    return StepSpec(
        key=key,
        kind="agent.action",
        title=title,
        runs_in="agent",
        targets=tuple(nodes),
        params={"action": action, "per_agent": per_agent, "expires_in_seconds": INSTALL_ACTION_EXPIRY},
        batch=batch,
        timeout_seconds=AGENT_STEP_SECONDS,
        max_attempts=1,  # an installer action is not retried blindly: its journal makes a rerun a --resume
        **options,
    )


def _names(nodes: list[Target]) -> str:
    return ", ".join(t.hostname or t.address or t.agent_id for t in nodes)


def _review_step(plan_key: str, nodes: list[Target]) -> StepSpec:
    return StepSpec(
        key="review",
        kind="installer.review",
        title="Stop here if a node's plan has refusals or failed checks",
        targets=tuple(nodes),
        params={"plan_step": plan_key},
        timeout_seconds=60,
        max_attempts=1,
    )


def _register_step(install_keys: list[str], mode: str | None, nodes: list[Target]) -> StepSpec:
    return StepSpec(
        key="register",
        kind="installer.register",
        title="Register the cluster and its nodes with what the installer gathered",
        targets=tuple(nodes),
        params={"install_steps": install_keys, "mode": mode},
        timeout_seconds=60,
    )


def _installed(cluster: Cluster) -> dict[str, Any]:
    """The facts of the cluster's installed nodes by address (from clusters.node_installed)."""
    return {n.address: n.facts for n in selectors.cluster_nodes_for_system(cluster) if n.facts}


# -- install_cluster ----------------------------------------------------------------------------------------------
def plan_install_cluster(cluster: Cluster, params: dict[str, Any]) -> Planned:
    _no_others(params, {*SPEC_PARAMS, "prefix", "nodes"})
    if cluster.endpoints:
        raise PlanError(
            "the cluster is already installed (it has REST endpoints); use scale_out or upgrade_cluster",
            code="OPERATION_CLUSTER_INSTALLED",
        )
    spec = _spec_params(params, version_required=True, defaults={})
    entries = _node_entries(cluster, params, default_role=None)
    roles = {e["role"] for e in entries}
    if "hybrid" in roles and roles != {"hybrid"}:
        raise PlanError("a cluster is hybrid or separated (masters and workers), not both", field="nodes")
    if roles != {"hybrid"} and roles != {"master", "worker"}:
        raise PlanError("a separated cluster needs at least one master and one worker", field="nodes")
    members = [_member(e) for e in entries]
    first = [e for e in entries if e["role"] in ("master", "hybrid")]
    then = [e for e in entries if e["role"] == "worker"]
    per_agent = {}
    for entry in entries:
        expected = len(first) if entry["role"] != "worker" else len(entries)
        node = _node_params(entry, spec, members, expected)
        _check_action("installer.install", node, "nodes")
        per_agent[entry["target"].agent_id] = node
    everyone = [e["target"] for e in entries]
    steps = [
        _agent_step(
            "plan",
            f"Plan the install on {_names(everyone)} (changes nothing)",
            "installer.plan",
            {a: _plan_params(p, "install") for a, p in per_agent.items()},
            everyone,
            None,
        ),
        _review_step("plan", everyone),
    ]
    mode = "hybrid" if roles == {"hybrid"} else "separated"
    install_keys = []
    for key, group, what in (("masters", first, "masters"), ("workers", then, "workers")):
        if not group:
            continue
        nodes = [e["target"] for e in group]
        steps.append(
            _agent_step(
                key,
                f"Install SeaTunnel {spec['version']} on the {what if mode == 'separated' else 'nodes'}: "
                f"{_names(nodes)}",
                "installer.install",
                {t.agent_id: per_agent[t.agent_id] for t in nodes},
                nodes,
                1 if key == "masters" else 2,
                compensation="installer.uninstall",
            )
        )
        install_keys.append(key)
    steps.append(_register_step(install_keys, mode, everyone))
    understood = {
        **spec,
        "prefix": params.get("prefix", DEFAULT_PREFIX),
        "nodes": [
            {
                "node": e["target"].agent_id,
                "role": e["role"],
                "host": e["host"],
                "member": _member(e),
                "prefix": e["prefix"],
                **{k: e[k] for k in ("member_port", "http_port") if k in e},
            }
            for e in entries
        ],
    }
    notes = [
        f"Members: {', '.join(members)}. Masters (or hybrids) are installed first and must be healthy before the "
        "workers are; a failure uninstalls what this operation installed (logs and data are kept)."
    ]
    return Planned(steps, understood, notes)


# -- scale_out ----------------------------------------------------------------------------------------------------
def _cluster_defaults(cluster: Cluster) -> tuple[dict[str, Any], list[str]]:
    """The installed spec every node shares (version, form, cluster name, prefix) and the member list, from the
    facts the install recorded."""
    installed = _installed(cluster)
    if not installed:
        raise PlanError(
            "the cluster has no node installed by the control plane (no installer facts)",
            code="OPERATION_CLUSTER_NOT_INSTALLED",
        )
    members: list[str] = []
    defaults: dict[str, Any] = {"version": cluster.engine_version}
    for facts in installed.values():
        for member in facts.get("members") or []:
            if member not in members:
                members.append(member)
        defaults.setdefault("form", facts.get("form"))
        defaults.setdefault("cluster_name", facts.get("cluster_name"))
        defaults.setdefault("prefix", facts.get("prefix"))
        if not defaults.get("version") and facts.get("engine_version"):
            defaults["version"] = facts["engine_version"]
    return {k: v for k, v in defaults.items() if v}, members


def plan_scale_out(cluster: Cluster, params: dict[str, Any]) -> Planned:
    _no_others(params, {*SPEC_PARAMS, "prefix", "nodes"})
    defaults, members = _cluster_defaults(cluster)
    if cluster.mode != "separated":
        raise PlanError("scale_out adds workers to a separated cluster (masters and workers)", field="nodes")
    spec = _spec_params(params, version_required=True, defaults=defaults)
    if "prefix" not in params and defaults.get("prefix"):
        params = {**params, "prefix": defaults["prefix"]}
    entries = _node_entries(cluster, params, default_role="worker")
    installed = _installed(cluster)
    for entry in entries:
        if entry["target"].address in installed:
            raise PlanError(
                f"{entry['target'].hostname or entry['target'].address} is already a node of the cluster",
                code="OPERATION_NODE_INSTALLED",
                field="nodes",
            )
    everyone_members = list(dict.fromkeys(members + [_member(e) for e in entries]))
    per_agent = {}
    for entry in entries:
        # A new worker joins through the member list: the masters and the workers the cluster already has, and
        # itself; the running members learn of it from the join (TCP-IP), their files are not rewritten.
        node = _node_params(entry, spec, everyone_members, len(installed) + len(entries))
        _check_action("installer.install", node, "nodes")
        per_agent[entry["target"].agent_id] = node
    nodes = [e["target"] for e in entries]
    steps = [
        _agent_step(
            "plan",
            f"Plan the install on {_names(nodes)} (changes nothing)",
            "installer.plan",
            {a: _plan_params(p, "install") for a, p in per_agent.items()},
            nodes,
            None,
        ),
        _review_step("plan", nodes),
        _agent_step(
            "workers",
            f"Install SeaTunnel {spec['version']} workers on {_names(nodes)}",
            "installer.install",
            per_agent,
            nodes,
            1,
            compensation="installer.uninstall",
        ),
        _register_step(["workers"], None, nodes),
    ]
    understood = {
        **spec,
        "prefix": params.get("prefix", DEFAULT_PREFIX),
        "nodes": [{"node": e["target"].agent_id, "role": "worker", "member": _member(e)} for e in entries],
        "members": everyone_members,
    }
    notes = [f"The new workers join with the member list {', '.join(everyone_members)}."]
    return Planned(steps, understood, notes)


# -- scale_in -----------------------------------------------------------------------------------------------------
def plan_scale_in(cluster: Cluster, params: dict[str, Any]) -> Planned:
    _no_others(params, {"nodes", "batch_size", "purge", "revoke_agents", "prefix"})
    installed = _installed(cluster)
    size = _int(params, "batch_size", 1, 1, 1000)
    purge = _bool(params, "purge", False)
    revoke = _bool(params, "revoke_agents", True)
    wanted = params.get("nodes")
    if wanted is None:
        raise PlanError("nodes names the nodes to take out", field="nodes")
    nodes = targets(cluster, wanted)
    remaining = {a: f for a, f in installed.items() if a not in {t.address for t in nodes}}
    roles_left = {str(f.get("role")) for f in remaining.values()}
    if not remaining or not (roles_left & {"master", "hybrid"}) or not (roles_left & {"worker", "hybrid"}):
        raise PlanError(
            "the cluster would have no master or no worker left; take fewer nodes out (or uninstall the cluster)",
            code="OPERATION_LAST_NODES",
            field="nodes",
        )
    for target in nodes:
        if str(installed.get(target.address, {}).get("role")) in ("master", "hybrid") and cluster.mode == "separated":
            raise PlanError(
                f"{target.hostname or target.address} is a master: scale_in takes workers out",
                code="OPERATION_NODE_IS_MASTER",
                field="nodes",
            )
    placement = knows_placement(cluster.engine_version)
    steps: list[StepSpec] = []
    if not placement:
        steps.append(_pause_step("pause-streaming-runs", "Pause the cluster's streaming runs with a savepoint"))
    for number, group in enumerate(batches(nodes, size), 1):
        if placement:
            steps.append(
                _pause_step(
                    f"b{number}.pause",
                    f"Batch {number}: pause the streaming runs with tasks on {_names(group)} (savepoint)",
                    group,
                    number,
                )
            )
        per_agent = {}
        for target in group:
            prefix = params.get("prefix") or installed.get(target.address, {}).get("prefix") or DEFAULT_PREFIX
            action = {"prefix": prefix, "purge": purge}
            _check_action("installer.uninstall", action, "prefix")
            per_agent[target.agent_id] = action
        steps += [
            _agent_step(
                f"b{number}.uninstall",
                f"Batch {number}: stop and uninstall SeaTunnel on {_names(group)}",
                "installer.uninstall",
                per_agent,
                group,
                number,
            ),
            StepSpec(
                key=f"b{number}.deregister",
                kind="installer.deregister",
                title=f"Batch {number}: take {_names(group)} out of the cluster"
                + (" and revoke their agents" if revoke else ""),
                targets=tuple(group),
                params={"revoke_agents": revoke},
                batch=number,
                timeout_seconds=60,
            ),
        ]
        if placement:
            steps.append(_resume_step(f"b{number}.resume", f"b{number}.pause", number))
    if not placement:
        steps.append(_resume_step("resume-streaming-runs", "pause-streaming-runs", None))
    understood = {
        "nodes": [t.node_id or t.agent_id for t in nodes],
        "batch_size": size,
        "purge": purge,
        "revoke_agents": revoke,
    }
    notes = [
        "No task is killed without a savepoint: the streaming runs with tasks on a node are stopped with a savepoint "
        "before it stops, and resumed on the remaining nodes after it left."
        + (
            ""
            if placement
            else f" SeaTunnel {cluster.engine_version or '2.3'} does not say which node runs a job, so every "
            "streaming run of the cluster is paused."
        )
    ]
    return Planned(steps, understood, notes)


# -- upgrade_cluster ----------------------------------------------------------------------------------------------
def plan_upgrade_cluster(cluster: Cluster, params: dict[str, Any]) -> Planned:
    _no_others(params, {"version", "source", "mirror", "sha512", "health_timeout_seconds", "nodes", "batch_size"})
    installed = _installed(cluster)
    version = _text(params, "version", required=True)
    size = _int(params, "batch_size", 1, 1, 1000)
    health = _int(params, "health_timeout_seconds", 180, 5, 3600)
    nodes = targets(cluster, params.get("nodes"))
    missing = [t for t in nodes if t.address not in installed]
    if missing:
        raise PlanError(
            f"{_names(missing)} was not installed by the control plane (no installer facts)",
            code="OPERATION_CLUSTER_NOT_INSTALLED",
            field="nodes",
        )
    # Masters first: a worker of the new version joins masters that already run it.
    order = {"master": 0, "hybrid": 0, "worker": 1}
    nodes = sorted(nodes, key=lambda t: (order.get(str(installed[t.address].get("role")), 1), t.address))
    per_agent: dict[str, dict[str, Any]] = {}
    for target in nodes:
        action: dict[str, Any] = {
            "prefix": installed[target.address].get("prefix") or DEFAULT_PREFIX,
            "version": version,
            "health_timeout_seconds": health,
            "expected_members": 1,
        }
        for name in ("source", "mirror", "sha512"):
            value = _text(params, name)
            if value is not None:
                action[name] = value
        _check_action("installer.upgrade", action, "version")
        per_agent[target.agent_id] = action
    placement = knows_placement(cluster.engine_version)
    steps = [
        _agent_step(
            "plan",
            f"Plan the upgrade to {version} on {_names(nodes)} (changes nothing)",
            "installer.plan",
            {a: _plan_params(p, "upgrade") for a, p in per_agent.items()},
            nodes,
            None,
        ),
        _review_step("plan", nodes),
    ]
    if not placement:
        steps.append(_pause_step("pause-streaming-runs", "Pause the cluster's streaming runs with a savepoint"))
    upgrade_keys = []
    for number, group in enumerate(batches(nodes, size), 1):
        if placement:
            steps.append(
                _pause_step(
                    f"b{number}.pause",
                    f"Batch {number}: pause the streaming runs with tasks on {_names(group)}",
                    group,
                    number,
                )
            )
        steps.append(
            StepSpec(
                key=f"b{number}.upgrade",
                kind="installer.upgrade",
                title=f"Batch {number}: upgrade {_names(group)} to {version} (rolled back by itself if not healthy)",
                runs_in="agent",
                targets=tuple(group),
                params={"per_agent": {t.agent_id: per_agent[t.agent_id] for t in group}},
                batch=number,
                compensation="installer.rollback",
                timeout_seconds=AGENT_STEP_SECONDS,
                max_attempts=1,
            )
        )
        upgrade_keys.append(f"b{number}.upgrade")
        if placement:
            steps.append(_resume_step(f"b{number}.resume", f"b{number}.pause", number))
    if not placement:
        steps.append(_resume_step("resume-streaming-runs", "pause-streaming-runs", None))
    steps.append(_register_step(upgrade_keys, None, nodes))
    understood = {
        "version": version,
        "batch_size": size,
        "health_timeout_seconds": health,
        "nodes": [t.node_id or t.agent_id for t in nodes],
        **{k: params[k] for k in ("source", "mirror", "sha512") if k in params},
    }
    notes = [
        "Batch by batch, masters first. A node whose new version is not healthy is rolled back by the installer on "
        "the node; the batch then fails, the operation stops, and the batches already upgraded are rolled back."
    ]
    return Planned(steps, understood, notes)


# -- step kinds ---------------------------------------------------------------------------------------------------
def _targets_result(ctx: StepContext, step_key: str) -> dict[str, dict]:
    status = ctx.operation.status(step_key)
    return dict((status.result or {}).get("targets") or {})


@step_kind("installer.review")
def review(ctx: StepContext) -> Outcome:
    """Read every node's plan (the plan step's results): refusals and failed checks stop the operation here, before
    anything changed; otherwise the plans are this step's result (the changes each node would see)."""
    problems: dict[str, list[dict]] = {}
    changes: dict[str, int] = {}
    for agent_id, entry in _targets_result(ctx, ctx.spec.params["plan_step"]).items():
        plan = ((entry.get("result") or {}).get("result")) or {}
        found = list(plan.get("refusals") or [])
        found += [
            {"check": c.get("check"), **(c.get("error") or {})} for c in plan.get("checks") or [] if not c.get("ok")
        ]
        if found:
            problems[agent_id] = found
        changes[agent_id] = len(plan.get("changes") or [])
    if problems:
        first = next(iter(problems.values()))[0]
        raise StepError(
            f"the plan of {len(problems)} node(s) has refusals: {first.get('code')}: {first.get('message')}",
            code="OPERATION_INSTALL_PLAN_REFUSED",
            result={"problems": problems},
        )
    return Done({"changes": changes})


def _facts_of(ctx: StepContext, step_keys: list[str]) -> list[dict[str, Any]]:
    found = []
    for key in step_keys:
        for agent_id, entry in _targets_result(ctx, key).items():
            facts = (entry.get("result") or {}).get("facts") or {}
            if facts.get("member_address"):
                found.append({**facts, "agent_id": agent_id})
    return found


@step_kind("installer.register")
def register(ctx: StepContext) -> Outcome:
    """Register the cluster's endpoints and version and every installed node with its facts (the install steps'
    results), through the clusters app's writer: nobody re-types them."""
    from controlplane.clusters import actions as cluster_actions

    cluster = selectors.cluster_for_system(ctx.operation.tenant_id, ctx.operation.cluster_id)
    if cluster is None:
        raise StepError("the cluster was removed", code="CLUSTER_NOT_FOUND")
    facts = _facts_of(ctx, list(ctx.spec.params["install_steps"]))
    if not facts:
        raise StepError("no install step reported the nodes' facts", code="OPERATION_NO_FACTS")
    coordinators = [f["rest_endpoint"] for f in facts if f.get("role") in ("master", "hybrid") and f["rest_endpoint"]]
    endpoints = list(cluster.endpoints) or coordinators or [f["rest_endpoint"] for f in facts if f["rest_endpoint"]]
    endpoints = list(dict.fromkeys(endpoints))[:8]
    versions = {f.get("engine_version") for f in facts if f.get("engine_version")}
    nodes = [{"address": f["member_address"], "role": f.get("role") or "", "facts": f} for f in facts]
    with transaction.atomic():
        appended = cluster_actions.do_record_installed_nodes(
            metadata=ctx.metadata,
            cluster=cluster,
            nodes=nodes,
            engine_version=versions.pop() if len(versions) == 1 else "",
            endpoints=endpoints,
            mode=ctx.spec.params.get("mode"),
        )
    return Done({"endpoints": endpoints, "nodes": [n["address"] for n in nodes], "events": list(appended)})


@step_kind("installer.deregister")
def deregister(ctx: StepContext) -> Outcome:
    """Take the uninstalled nodes out of the cluster (the clusters app's writer), and their endpoints out of its
    list; revoke their agents unless told not to (they have nothing left to supervise)."""
    from controlplane.agents import actions as agent_actions
    from controlplane.clusters import actions as cluster_actions
    from controlplane.errors import DomainError

    cluster = selectors.cluster_for_system(ctx.operation.tenant_id, ctx.operation.cluster_id)
    if cluster is None:
        raise StepError("the cluster was removed", code="CLUSTER_NOT_FOUND")
    installed = _installed(cluster)
    removed = []
    for target in ctx.spec.targets:
        cluster = selectors.cluster_for_system(ctx.operation.tenant_id, ctx.operation.cluster_id) or cluster
        endpoint = installed.get(target.address, {}).get("rest_endpoint")
        endpoints = [e for e in cluster.endpoints if e != endpoint]
        with transaction.atomic():
            cluster_actions.do_remove_node(
                metadata=ctx.metadata,
                cluster=cluster,
                address=target.address,
                endpoints=endpoints if endpoints != list(cluster.endpoints) and endpoints else None,
            )
            if ctx.spec.params.get("revoke_agents", True):
                try:
                    agent_actions.do_revoke_agent(
                        metadata=ctx.metadata, agent_id=target.agent_id, reason=f"scale_in {ctx.operation.operation_id}"
                    )
                except DomainError as error:
                    if error.code != "AGENT_REVOKED":  # revoked already (a retried step): nothing to do
                        raise
        removed.append(target.address)
    return Done({"removed": removed})


def _undo(ctx: StepContext, action_type: str, params_for: Any) -> Outcome:
    """The compensation of an installer step: ``action_type`` on the targets whose action of the step succeeded."""
    done = {a for a, e in _targets_result(ctx, ctx.spec.key).items() if e.get("state") == "SUCCEEDED"}
    wanted = {t.agent_id: params_for(t) for t in ctx.spec.targets if t.agent_id in done}
    if not wanted:
        return Done({"undone": []})
    return run_agent_actions(ctx, action_type, wanted, expires_in_seconds=INSTALL_ACTION_EXPIRY, tag=".undo")


def _prefix_of(ctx: StepContext, target: Target) -> str:
    params = (ctx.spec.params.get("per_agent") or {}).get(target.agent_id) or {}
    return str(params.get("prefix") or DEFAULT_PREFIX)


@step_kind("installer.uninstall")
def undo_install(ctx: StepContext) -> Outcome:
    """Compensation of an install step: uninstall what it installed (logs and data kept)."""
    return _undo(ctx, "installer.uninstall", lambda t: {"prefix": _prefix_of(ctx, t), "purge": False})


@step_kind("installer.rollback")
def undo_upgrade(ctx: StepContext) -> Outcome:
    """Compensation of an upgrade step: switch the upgraded nodes back to their previous version and config."""
    return _undo(ctx, "installer.rollback", lambda t: {"prefix": _prefix_of(ctx, t)})


@step_kind("installer.upgrade")
def upgrade(ctx: StepContext) -> Outcome:
    """`installer.upgrade` on the batch. When some nodes of the batch failed (each rolled itself back) and others
    succeeded, those are rolled back too before the step fails: a failed batch leaves the batch as it was."""
    per_agent = ctx.spec.params["per_agent"]
    try:
        return run_agent_actions(
            ctx,
            "installer.upgrade",
            {t.agent_id: per_agent[t.agent_id] for t in ctx.spec.targets},
            expires_in_seconds=INSTALL_ACTION_EXPIRY,
        )
    except StepError as failure:
        targets_result = (failure.result or {}).get("targets") or {}
        upgraded = {a for a, e in targets_result.items() if e.get("state") == "SUCCEEDED"}
        if not upgraded:
            raise
        outcome = run_agent_actions(
            ctx,
            "installer.rollback",
            {a: {"prefix": per_agent[a]["prefix"]} for a in sorted(upgraded)},
            expires_in_seconds=INSTALL_ACTION_EXPIRY,
            tag=".rollback",
        )
        if not isinstance(outcome, Done):
            return outcome
        raise StepError(
            failure.message + f"; rolled back {len(upgraded)} node(s) of the batch that had upgraded",
            code=failure.code,
            result={**(failure.result or {}), "rolled_back": sorted(upgraded)},
        ) from None


def summarize_install(op: OperationAggregate) -> dict:
    """The steps, and the nodes the install registered."""
    summary = summarize_steps(op)
    registered = next((s.result for p, s in zip(op.plan, op.steps, strict=True) if p.key == "register"), None)
    if registered:
        summary["registered"] = registered
    return summary


register_type(
    "install_cluster",
    plan_install_cluster,
    summarize_install,
    "Install SeaTunnel on the cluster's agents' nodes: masters, then workers; register the cluster",
    point="cluster.install",
)
register_type(
    "upgrade_cluster",
    plan_upgrade_cluster,
    summarize_install,
    "Upgrade SeaTunnel batch by batch with savepoints; a failed batch rolls back",
    point="cluster.upgrade",
)
register_type(
    "scale_out", plan_scale_out, summarize_install, "Install workers on new agents' nodes", point="cluster.install"
)
register_type(
    "scale_in",
    plan_scale_in,
    summarize_steps,
    "Drain (savepoint), stop, uninstall and deregister workers",
    point="cluster.install",
)
