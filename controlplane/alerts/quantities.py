"""The catalog of our own quantities a ``threshold`` rule compares (docs/ALERTS.md, "Thresholds").

Each entry: name -> function(tenant, workspace, now, params) returning (identifying labels, value) pairs. The names
are declared in ``domain/rules.py`` (``QUANTITIES``, with whether they take a window); add a quantity in both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from controlplane.alerts import selectors

Quantity = Callable[[str, str, datetime, dict[str, Any]], list[tuple[dict[str, str], float]]]


def _heartbeat_age(tenant_id: str, workspace_id: str, now: datetime, params: dict) -> list[tuple[dict, float]]:
    return [
        ({"agent": agent.id, "cluster": agent.cluster_id, "hostname": agent.hostname}, age)
        for agent, age in selectors.heartbeat_ages(tenant_id, workspace_id, now)
    ]


def _failed(what: str) -> Quantity:
    def count(tenant_id: str, workspace_id: str, now: datetime, params: dict) -> list[tuple[dict, float]]:
        since = now - timedelta(seconds=params["window_seconds"])
        return [({}, float(selectors.failed_since(tenant_id, workspace_id, what, since)))]

    return count


CATALOG: dict[str, Quantity] = {
    "agent_heartbeat_age_seconds": _heartbeat_age,
    "operations_failed": _failed("operations"),
    "runs_failed": _failed("runs"),
}
