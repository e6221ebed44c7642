"""Prometheus service discovery of the engines' own ``/metrics`` (docs/METRICS.md, "Engine targets").

One target group per scrape address, in the JSON of Prometheus' ``file_sd_configs`` (which ``http_sd_configs``
reads too): each registered cluster's REST endpoints and the node of each of its agents, on the REST v2 port, where
Zeta 2.3.10+ serves ``/metrics`` (ZETA_FACTS §7; the context path prefixes it). Labels: ``tenant`` and
``workspace`` (slugs), ``cluster`` (its name), ``role`` (master, worker, hybrid, node when the role is not known yet,
endpoint for a registered REST endpoint no agent's node stands for). No id is a label.

Written by ``manage.py prometheus_targets --out DIR`` and served at ``/metrics/targets``, only with the metrics
token set and given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from agent.state import write_atomic
from controlplane.agents.selectors import agents_for_platform
from controlplane.clusters.selectors import clusters_for_platform, nodes_for_platform
from controlplane.metrics.exposition import bearer_ok, unauthorized
from controlplane.tenancy.models import Tenant, Workspace

FILE_NAME = "seatunnel-engines.json"
DEFAULT_REST_PORT = {"http": 8080, "https": 8443}  # ZETA_FACTS §4.7


@dataclass(frozen=True)
class Target:
    address: str  # host:port
    scheme: str
    metrics_path: str
    tenant: str
    workspace: str
    cluster: str
    role: str

    def group(self) -> dict:
        return {
            "targets": [self.address],
            "labels": {
                "__scheme__": self.scheme,
                "__metrics_path__": self.metrics_path,
                "tenant": self.tenant,
                "workspace": self.workspace,
                "cluster": self.cluster,
                "role": self.role,
            },
        }


def _host_port(netloc_host: str, port: int) -> str:
    return f"[{netloc_host}]:{port}" if ":" in netloc_host else f"{netloc_host}:{port}"


def engine_targets() -> list[Target]:
    """Every live cluster's scrape targets, sorted, one per address of a cluster (two clusters registered on one
    address are two targets: each has its own labels)."""
    tenants = dict(Tenant.objects.values_list("id", "slug"))
    workspaces = dict(Workspace.objects.values_list("id", "slug"))
    roles = {
        (cluster_id, address): role
        for cluster_id, address, role in nodes_for_platform().values_list("cluster_id", "address", "role")
    }
    agents: dict[str, list[tuple[str, str]]] = {}
    for cluster_id, member, hostname in (
        agents_for_platform()
        .exclude(status="revoked")
        .exclude(cluster_id="")
        .values_list("cluster_id", "member_address", "hostname")
    ):
        agents.setdefault(cluster_id, []).append((member, hostname))
    found: dict[tuple[str, str], Target] = {}  # (cluster id, address): one target per address of a cluster
    for cluster in clusters_for_platform().filter(removed=False).order_by("tenant_id", "name"):
        tenant = tenants.get(cluster.tenant_id)
        workspace = workspaces.get(cluster.workspace_id, "")
        if tenant is None or not cluster.endpoints:
            continue
        first = urlsplit(cluster.endpoints[0])
        scheme = first.scheme or "http"
        rest_port = first.port or DEFAULT_REST_PORT.get(scheme, 8080)
        path = f"/{cluster.context_path.strip('/')}/metrics" if cluster.context_path.strip("/") else "/metrics"

        candidates: list[tuple[str, str, str]] = []  # (address, role, scheme): agents' nodes first
        for member, hostname in agents.get(cluster.id, []):
            host = urlsplit(f"//{member}").hostname if member else hostname
            if host:
                candidates.append((_host_port(host, rest_port), roles.get((cluster.id, member)) or "node", scheme))
        for endpoint in cluster.endpoints:
            parts = urlsplit(endpoint)
            if parts.hostname:
                port = parts.port or DEFAULT_REST_PORT.get(parts.scheme, 8080)
                candidates.append((_host_port(parts.hostname, port), "endpoint", parts.scheme or "http"))
        for address, role, target_scheme in candidates:
            if (cluster.id, address) not in found:
                found[cluster.id, address] = Target(address, target_scheme, path, tenant, workspace, cluster.name, role)
    return sorted(found.values(), key=lambda t: (t.tenant, t.workspace, t.cluster, t.address))


def file_sd() -> list[dict]:
    return [target.group() for target in engine_targets()]


def write_file_sd(directory: Path) -> Path:
    """Write the targets into ``directory``/seatunnel-engines.json atomically (Prometheus re-reads on change and
    must never see half a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    destination = directory / FILE_NAME
    text = json.dumps(file_sd(), indent=2, sort_keys=True) + "\n"
    write_atomic(destination, text.encode(), mode=0o644)  # Prometheus may run as another user
    return destination


def http_sd(request: HttpRequest) -> HttpResponse:
    """``GET /metrics/targets``: the same JSON for Prometheus' ``http_sd_configs``, behind the metrics token."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not settings.METRICS_TOKEN:  # the addresses of every tenant's nodes: never open, unlike /metrics
        return HttpResponse(
            "set CONTROLPLANE_METRICS_TOKEN to serve the targets\n", status=403, content_type="text/plain"
        )
    if not bearer_ok(request, settings.METRICS_TOKEN):
        return unauthorized()
    return JsonResponse(file_sd(), safe=False)
