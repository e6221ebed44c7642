"""Nodes and health from one poll per cluster: /overview + /system-monitoring-information.

``poll_cluster(cluster, client, metadata=...)`` reads the cluster once and hands what it saw to the writer
``actions.do_record_cluster_health``, which stores the observation in the ``Health`` row (one per cluster,
overwritten each poll: not event-sourced, docs/adr/0006-health-is-an-observation.md) and appends events only
for what changed: reachability (``clusters.cluster_unreachable`` / ``clusters.cluster_reachable``),
members (``clusters.node_joined`` / ``node_lost`` / ``node_returned`` / ``node_role_changed``) and the engine
version (``clusters.cluster_updated``). A poll that changes nothing appends nothing.

``poll_all()`` is the body of the ``clusters.poll_health`` beat task: every live cluster, one at a time, with a
short timeout, each recorded as the system acting in that cluster's tenant; one cluster's failure never stops
the others.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from controlplane.clusters import actions
from controlplane.clusters.connect import client_for, without_remote_text
from controlplane.clusters.models import Cluster
from controlplane.clusters.selectors import live_cluster_for_system, live_cluster_ids_for_system
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.outbound.policy import OutboundTargetForbidden
from controlplane.seatunnel.client import Overview, ZetaClient, ZetaError, ZetaUnreachable

log = logging.getLogger(__name__)

# The beat task's client: a short timeout per request and endpoint, one extra round over the endpoints.
HEALTH_TIMEOUT_SECONDS = 3.0
HEALTH_RETRIES = 1
POLL_REASON = "clusters.poll_health"

# nodeRole of the newest engines (SeaTunnel's ClusterRole, ZETA_FACTS §2.3) -> the control plane's role names.
_NODE_ROLES = {"MASTER": "master", "WORKER": "worker", "MASTER_AND_WORKER": "hybrid"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)B?\s*$", re.IGNORECASE)
_UNITS = "KMGTPE"


@dataclass(frozen=True)
class Member:
    """One entry of /system-monitoring-information. Sizes in bytes, loads in percent; None when absent."""

    address: str | None  # host:port; None when the engine does not say (older versions)
    role: str  # master | worker | hybrid | "" (the engine does not say, and the cluster's mode does not tell)
    is_master: bool | None  # Hazelcast's master member (the active coordinator)
    heap_used: int | None
    heap_max: int | None
    heap_used_percent: float | None  # of max
    cpu_process_percent: float | None
    cpu_system_percent: float | None
    load_average: float | None
    processors: int | None
    threads: int | None
    physical_memory_total: int | None
    physical_memory_free: int | None


@dataclass(frozen=True)
class ClusterHealth:
    """What one poll saw, and the events it appended (wire names)."""

    cluster_id: str
    reachable: bool
    error_code: str
    error_message: str
    engine_version: str
    members: tuple[Member, ...]
    members_identified: bool
    total_slots: int | None
    free_slots: int | None
    running_jobs: int | None
    pending_jobs: int | None
    heap_used: int | None
    heap_max: int | None
    checked_at: datetime
    overview: Overview | None = None
    events: tuple[str, ...] = ()


# -- parsing the engine's strings --------------------------------------------------------------------------
def parse_size(value: Any) -> int | None:
    """'180.0M', '2.0G', '512' (bytes; the engine prints 1024-based units with one decimal) -> bytes."""
    match = _SIZE.match(str(value)) if value is not None else None
    if match is None:
        return None
    number, unit = float(match[1]), match[2].upper()
    return int(number * 1024 ** (_UNITS.index(unit) + 1)) if unit else int(number)


def parse_percent(value: Any) -> float | None:
    try:
        return float(str(value).strip().rstrip("%"))
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _flag(value: Any) -> bool | None:
    text = str(value).strip().lower() if value is not None else ""
    return {"true": True, "false": False}.get(text)


def parse_member(entry: dict[str, Any], *, cluster_mode: str) -> Member:
    host, port = entry.get("host"), entry.get("port")
    is_master = _flag(entry.get("isMaster"))
    if entry.get("nodeRole") in _NODE_ROLES:
        role = _NODE_ROLES[entry["nodeRole"]]
    elif cluster_mode == "hybrid":
        role = "hybrid"  # every member of a hybrid cluster is master and worker
    else:
        role = "master" if is_master else ""  # a standby master and a worker look alike here
    return Member(
        address=f"{host}:{port}" if host and port else None,
        role=role,
        is_master=is_master,
        heap_used=parse_size(entry.get("heap.memory.used")),
        heap_max=parse_size(entry.get("heap.memory.max")),
        heap_used_percent=parse_percent(entry.get("heap.memory.used/max")),
        cpu_process_percent=parse_percent(entry.get("load.process")),
        cpu_system_percent=parse_percent(entry.get("load.system")),
        load_average=parse_percent(entry.get("load.systemAverage")),
        processors=_int(entry.get("processors")),
        threads=_int(entry.get("thread.count")),
        physical_memory_total=parse_size(entry.get("physical.memory.total")),
        physical_memory_free=parse_size(entry.get("physical.memory.free")),
    )


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


# -- one poll ----------------------------------------------------------------------------------------------
def poll_cluster(cluster: Cluster, client: ZetaClient, *, metadata: Metadata) -> ClusterHealth:
    """Read the cluster once through ``client`` (overview + system monitoring), store the observation and
    append the transitions it reveals. Engine errors are recorded as unreachable, never raised."""
    checked_at = timezone.now()
    try:
        overview = client.overview()
    except ZetaError as error:
        return record_unreachable(cluster, without_remote_text(error), metadata=metadata, checked_at=checked_at)
    except OutboundTargetForbidden as error:  # an endpoint's name now resolves where the policy forbids
        return record_unreachable(cluster, error, metadata=metadata, checked_at=checked_at)
    members: tuple[Member, ...] = ()
    identified = False
    note_code = note_message = ""
    try:
        entries = client.system_monitoring()
    except (ZetaUnreachable, OutboundTargetForbidden) as error:  # it answered the overview and then went away
        return record_unreachable(cluster, error, metadata=metadata, checked_at=checked_at)
    except ZetaError as error:  # reachable, but the member list could not be read
        note_code, note_message = error.code, without_remote_text(error).message
    else:
        members = tuple(parse_member(entry, cluster_mode=cluster.mode) for entry in entries)
        identified = bool(members) and all(m.address for m in members)
    observed = ClusterHealth(
        cluster_id=cluster.id,
        reachable=True,
        error_code=note_code,
        error_message=note_message[:500],
        engine_version=overview.version,
        members=members,
        members_identified=identified,
        total_slots=overview.total_slots,
        free_slots=overview.unassigned_slots,
        running_jobs=overview.running_jobs,
        pending_jobs=overview.pending_jobs,
        heap_used=_sum([m.heap_used for m in members]),
        heap_max=_sum([m.heap_max for m in members]),
        checked_at=checked_at,
        overview=overview,
    )
    return _record(cluster, observed, metadata)


def record_unreachable(
    cluster: Cluster, error: DomainError, *, metadata: Metadata, checked_at: datetime | None = None
) -> ClusterHealth:
    """Store "could not read the cluster" with the error's code (also for a missing auth secret)."""
    observed = ClusterHealth(
        cluster_id=cluster.id,
        reachable=False,
        error_code=error.code,
        error_message=error.message[:500],
        engine_version="",
        members=(),
        members_identified=False,
        total_slots=None,
        free_slots=None,
        running_jobs=None,
        pending_jobs=None,
        heap_used=None,
        heap_max=None,
        checked_at=checked_at or timezone.now(),
    )
    return _record(cluster, observed, metadata)


def _record(cluster: Cluster, observed: ClusterHealth, metadata: Metadata) -> ClusterHealth:
    events = actions.do_record_cluster_health(metadata=metadata, cluster=cluster, observed=observed)
    return replace(observed, events=events)


# -- every cluster -----------------------------------------------------------------------------------------
def poll_one(cluster: Cluster, *, metadata: Metadata, timeout: float = HEALTH_TIMEOUT_SECONDS) -> ClusterHealth:
    """Open a client for the cluster (short timeout) and poll it; a missing auth secret counts as unreachable, and so
    does a cluster declared for an install that has no endpoints yet (CLUSTER_NOT_INSTALLED)."""
    if not cluster.endpoints:
        error = DomainError("the cluster is not installed yet: it has no REST endpoints", code="CLUSTER_NOT_INSTALLED")
        return record_unreachable(cluster, error, metadata=metadata)
    try:
        client = client_for(cluster, timeout=timeout, retries=HEALTH_RETRIES)
    except DomainError as error:
        return record_unreachable(cluster, error, metadata=metadata)
    with client:
        return poll_cluster(cluster, client, metadata=metadata)


def poll_all(*, timeout: float = HEALTH_TIMEOUT_SECONDS) -> dict[str, int]:
    """Poll every live cluster of every tenant, one at a time. Returns counts: reachable, unreachable, failed."""
    counts = {"reachable": 0, "unreachable": 0, "failed": 0}
    for cluster_id in live_cluster_ids_for_system():
        cluster = live_cluster_for_system(cluster_id)
        if cluster is None:  # removed since the list was read
            continue
        if not cluster.endpoints:  # declared for an install that has not registered its endpoints yet
            continue
        metadata = Metadata.for_system(cluster.tenant_id, reason=POLL_REASON, workspace_id=cluster.workspace_id)
        try:
            result = poll_one(cluster, metadata=metadata, timeout=timeout)
        except Exception:  # one bad cluster (or a bug it triggers) must not stop the others
            log.exception("health poll of cluster %s failed", cluster_id)
            counts["failed"] += 1
            continue
        counts["reachable" if result.reachable else "unreachable"] += 1
    return counts
