"""Clusters and their nodes: the list (health, version, node and agent counts) and a cluster's page (topology: which
node is master or worker and which agent runs on it, online, stale or lost; health as a tree; the connectors of its
engine version and on which nodes each is installed, with each node's lib/ jars, as the nodes' agents report them;
the operations and runs on it). Its topology and health are live: ``cluster_live`` re-renders them
whenever the tenant's activity feed brings an event (console.js, as for the run page). A node's buttons (restart,
start or stop its worker, diagnose) each request one operation through ``operations.actions.do_request_operation``,
the writer the API's operations endpoint calls, and go to that operation's page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.agents.models import Agent, AgentLiveness
from controlplane.agents.selectors import NodeInstalled, cluster_agent_list, cluster_installed_list, liveness_list
from controlplane.clusters.api.views import health_payload
from controlplane.clusters.models import Cluster, Health, Node
from controlplane.clusters.selectors import cluster_list, health_of, node_list
from controlplane.console.pages.frame import Scope, action, page, readable_one, render
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import selectors as jobs
from controlplane.operations import actions as operations
from controlplane.operations.plans import UNAVAILABLE_AGENTS, point_of
from controlplane.operations.selectors import operation_list
from controlplane.seatunnel.catalog import KINDS, Catalog, catalog_for
from controlplane.seatunnel.config.errors import JobCatalogVersionUnknown

RECENT = 10


def cluster_of(scope: Scope, cluster_id: str) -> Cluster:
    """The cluster if the user may read it here; 404 otherwise (another tenant's too)."""
    cluster: Cluster = readable_one(scope, "cluster.read", "cluster", cluster_list(), cluster_id)
    return cluster


def requested(operation_id: str) -> tuple[str, str]:
    """A button's answer once its operation is requested: the message, and the operation's page, where it is
    followed live (pages/operations.py)."""
    message = _("Operation %(operation)s requested.") % {"operation": operation_id[:8]}
    return message, reverse("admin:console-operation", args=[operation_id])


# -- topology ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One row of a cluster's topology: a node the log knows and the agent on it, or an agent whose node the
    cluster does not list (yet)."""

    node: Node | None
    agent: Agent | None
    liveness: AgentLiveness | None

    @property
    def address(self) -> str:
        return self.node.address if self.node else (self.agent.member_address if self.agent else "")

    @property
    def role(self) -> str:
        return (self.node.role if self.node else "") or ""

    @property
    def engine_version(self) -> str:
        """The node's own SeaTunnel version: as its agent last reported it, else as the installer recorded it."""
        reported = (self.liveness.facts or {}).get("seatunnel_version") if self.liveness else None
        installed = (self.node.facts or {}).get("engine_version") if self.node else None
        return str(reported or installed or "")

    @property
    def can_act(self) -> bool:
        return self.agent is not None and self.agent.status not in UNAVAILABLE_AGENTS


def topology(cluster_ids: list[str]) -> dict[str, list[Member]]:
    """Per cluster: its nodes, each with the newest agent on its address, then the other agents (on no node the
    cluster lists, or older on one). Revoked agents are history: left out. Three queries for any number of
    clusters."""
    agents = list(cluster_agent_list(cluster_ids))
    seen = liveness_list([a.id for a in agents])
    on: dict[tuple[str, str], Agent] = {}
    for agent in sorted(agents, key=lambda a: a.registered_at, reverse=True):
        on.setdefault((agent.cluster_id, agent.member_address), agent)
    found: dict[str, list[Member]] = {cluster_id: [] for cluster_id in cluster_ids}
    nodes = {(node.cluster_id, node.address): node for node in node_list(cluster_ids)}
    for key, node in nodes.items():
        agent = on.get(key)
        found[node.cluster_id].append(Member(node, agent, seen.get(agent.id) if agent else None))
    for agent in agents:  # an older agent of a node (registered again since) still answers: a row of its own
        key = (agent.cluster_id, agent.member_address)
        if on[key] is not agent or key not in nodes:
            found[agent.cluster_id].append(Member(nodes.get(key), agent, seen.get(agent.id)))
    return found


@dataclass(frozen=True)
class NodeAction:
    """A node's button: one operation of ``type`` on that node; ``action`` for a ``run_action`` (drawn only when
    the node's agent allows that action)."""

    verb: str
    label: Any
    type: str
    action: str = ""
    danger: bool = False

    def params(self, agent_id: str) -> dict[str, Any]:
        if self.type == "run_action":
            return {"action": self.action, "params": {}, "nodes": [agent_id]}
        return {"nodes": [agent_id]}

    def offered(self, scope: Scope, cluster: Cluster, member: Member) -> bool:
        if not member.can_act or not scope.has(point_of(self.type), cluster):
            return False
        return not self.action or self.action in (member.agent.allowlist if member.agent else [])


NODE_ACTIONS = (
    NodeAction("restart", gettext_lazy("Restart"), "rolling_restart", danger=True),
    NodeAction("worker-start", gettext_lazy("Start worker"), "run_action", "worker.start"),
    NodeAction("worker-stop", gettext_lazy("Stop worker"), "run_action", "worker.stop", danger=True),
    NodeAction("diagnose", gettext_lazy("Diagnose"), "diagnose"),
)


@dataclass(frozen=True)
class Wizard:
    """A form that plans an operation on the cluster, shows the plan, and requests it (cluster_wizards.py)."""

    name: str  # its URLs: console-cluster-<name>, console-cluster-<name>-run
    type: str
    label: Any


WIZARDS = (
    Wizard("install", "install_cluster", gettext_lazy("Install")),
    Wizard("upgrade", "upgrade_cluster", gettext_lazy("Upgrade")),
    Wizard("scale-out", "scale_out", gettext_lazy("Scale out")),
    Wizard("scale-in", "scale_in", gettext_lazy("Scale in")),
)


# -- pages ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterRow:
    cluster: Cluster
    health: Health | None
    nodes: int
    nodes_online: int
    roles: list[tuple[str, int]]
    agents: int
    agents_online: int


@page("cluster.read", "cluster")
def cluster_index(request: HttpRequest, scope: Scope) -> HttpResponse:
    clusters = list(scope.readable("cluster.read", "cluster", cluster_list()))  # type: ignore[arg-type]
    ids = [c.id for c in clusters]
    health, members = health_of(ids), topology(ids)
    rows = []
    for cluster in clusters:
        nodes = list({m.node.id: m.node for m in members[cluster.id] if m.node is not None}.values())
        agents = [m.agent for m in members[cluster.id] if m.agent is not None]
        rows.append(
            ClusterRow(
                cluster=cluster,
                health=health.get(cluster.id),
                nodes=len(nodes),
                nodes_online=sum(n.status == "online" for n in nodes),
                roles=sorted(Counter(n.role or "?" for n in nodes).items()),
                agents=len(agents),
                agents_online=sum(a.status == "online" for a in agents),
            )
        )
    return render(request, scope, "console/cluster_list.html", _("Clusters"), rows=rows)


# -- installed connectors ------------------------------------------------------------------------------------------
UNKNOWN_REASONS = {
    "no_agent": gettext_lazy("unknown: no agent on this node"),
    "not_reported": gettext_lazy("unknown: its agent does not report installed jars (an older agent)"),
    "no_home": gettext_lazy("unknown: its agent has no SeaTunnel home configured"),
    "unreadable": gettext_lazy("unknown: its agent could not list the directory"),
}


@dataclass(frozen=True)
class Cell:
    """One connector on one node: ``installed`` (with the versions of the jars that provide it), ``missing`` or
    ``unknown``. ``flagged``: missing while another node has it, two jars for it, or a jar not of the engine's
    version."""

    address: str
    state: str
    files: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    flagged: bool = False


@dataclass(frozen=True)
class ConnectorRow:
    name: str
    artifact: str
    cells: list[Cell]


@dataclass(frozen=True)
class NodeJars:
    """A column of the matrix and a row of the nodes' table: what one member's agent reported, and the catalog's
    plugins its connectors/ jars provide (None: unknown, or no catalog for the version)."""

    node: NodeInstalled
    unknown: Any  # the reason, translated; "" when known
    provided: dict[tuple[str, str], list[str]] | None
    unplaced: list[str]  # connectors/ jars that provide no plugin of the catalog

    versions: dict[str, str]  # connectors/ jar file -> the version its name carries ("" when none)

    @property
    def files(self) -> list[str]:
        return list(self.versions)

    @property
    def lib(self) -> list[str] | None:
        jars = self.node.installed.lib_jars
        return None if jars is None else list(jars)

    def version_of(self, file: str) -> str:
        return self.versions.get(file, "")


def _node_jars(node: NodeInstalled, catalog: Catalog | None) -> NodeJars:
    known = node.installed.connector_jars is not None
    versions = {jar.file: jar.version or "" for jar in node.installed.connector_jars or ()}
    provided = catalog.provided_by(versions) if known and catalog is not None else None
    used = {file for jars in (provided or {}).values() for file in jars}
    return NodeJars(
        node=node,
        unknown=UNKNOWN_REASONS[node.unknown] if node.unknown else "",
        provided=provided,
        unplaced=[file for file in versions if file not in used] if provided is not None else [],
        versions=versions,
    )


def _base(version: str | None) -> str:
    return (version or "").split("-", 1)[0]


def _cell(column: NodeJars, kind: str, name: str, engine: str) -> Cell:
    address = column.node.address
    if column.provided is None:
        return Cell(address, "unknown")
    files = tuple(column.provided.get((kind, name), ()))
    if not files:
        return Cell(address, "missing", flagged=True)  # listed only where another node has it
    versions = tuple(column.version_of(file) or file for file in files)
    other = any(_base(column.version_of(file)) not in ("", engine) for file in files) if engine else False
    return Cell(address, "installed", files, versions, flagged=len(files) > 1 or other)


def _connectors(cluster: Cluster) -> dict[str, Any]:
    """The connectors SeaTunnel ships for the cluster's engine version (what the API's plugins endpoint answers), and
    on which nodes each is installed: a jar of the node's connectors/ that the engine would load it from, as the
    node's agent last reported the directory. A node whose agent did not report is "unknown", never "missing"."""
    try:
        catalog: Catalog | None = catalog_for(cluster.engine_version)
        reason = ""
    except JobCatalogVersionUnknown as error:
        catalog, reason = None, error.message
    nodes = [_node_jars(node, catalog) for node in cluster_installed_list(cluster.id)]
    kinds = []
    engine = _base(cluster.engine_version)
    for kind in KINDS:
        if catalog is None:
            break
        installed, nowhere = [], []
        for name, artifact in sorted(catalog.plugins.get(kind, {}).values(), key=lambda entry: entry[0].lower()):
            if any(column.provided and (kind, name) in column.provided for column in nodes):
                installed.append(ConnectorRow(name, artifact, [_cell(c, kind, name, engine) for c in nodes]))
            else:
                nowhere.append(name)  # on no node that reported
        kinds.append({"kind": kind, "count": len(installed) + len(nowhere), "rows": installed, "none": nowhere})
    return {
        "version": catalog.version if catalog else None,
        "reason": reason,
        "kinds": kinds,
        "nodes": nodes,
        "known": any(not column.unknown for column in nodes),
    }


def _live_values(scope: Scope, cluster: Cluster) -> dict[str, Any]:
    """What the page's live part (topology and health, ``cluster_live.html``) shows."""
    health = health_of([cluster.id]).get(cluster.id)
    members = topology([cluster.id])[cluster.id]
    return {
        "cluster": cluster,
        "health": health,
        "health_tree": health_payload(cluster, health),
        "members": [(m, [a for a in NODE_ACTIONS if a.offered(scope, cluster, m)]) for m in members],
        "page_url": reverse("admin:console-cluster", args=[cluster.id]),  # where a refused button comes back to
    }


@page("cluster.read", "cluster")
def cluster_detail(request: HttpRequest, scope: Scope, cluster_id: str) -> HttpResponse:
    cluster = cluster_of(scope, cluster_id)
    ops = scope.readable("operation.read", "cluster", operation_list())
    runs = scope.readable("job.read", "job", jobs.run_list())
    return render(
        request,
        scope,
        "console/cluster_detail.html",
        cluster.name,
        title_is_name=True,
        connectors=_connectors(cluster),
        operations=None if ops is None else list(ops.filter(cluster_id=cluster.id).order_by("-created_at")[:RECENT]),
        runs=None if runs is None else list(runs.filter(cluster_id=cluster.id).order_by("-created_at")[:RECENT]),
        wizards=[w for w in WIZARDS if scope.has(point_of(w.type), cluster)],
        **_live_values(scope, cluster),
    )


@page("cluster.read", "cluster")
def cluster_live(request: HttpRequest, scope: Scope, cluster_id: str) -> HttpResponse:
    """The page's live part alone, fetched by console.js on each event of the tenant's activity feed (docs/LIVE.md):
    a node joining or lost, an agent stale or back, a health transition, an operation's progress."""
    return TemplateResponse(request, "console/cluster_live.html", _live_values(scope, cluster_of(scope, cluster_id)))


def _node_view(node_action: NodeAction):  # type: ignore[no-untyped-def]
    @action(f"node.{node_action.verb}", "cluster")
    def view(request: HttpRequest, scope: Scope, metadata: Metadata, cluster_id: str) -> tuple[str, str]:
        cluster = cluster_of(scope, cluster_id)
        agent_id = request.POST.get("agent", "")
        operation_id = operations.do_request_operation(
            metadata=metadata, cluster=cluster, type=node_action.type, params=node_action.params(agent_id)
        )
        return requested(operation_id)

    view.__name__ = f"node_{node_action.verb.replace('-', '_')}"
    return view


NODE_VIEWS = {node_action.verb: _node_view(node_action) for node_action in NODE_ACTIONS}
