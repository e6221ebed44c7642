"""A finding's one-click fix as a plan a person confirms: which operation (or agent action, run as a ``run_action``
operation), on which nodes, with what params, and the plan's hash. Confirming names the hash; the fix runs only
when planning it again gives the same hash (nothing changed in between: the nodes, their agents, the library).

Only an allowlist of references can run from here, whatever the library names: restarts and starts, a health
check, a connector jar. An installer operation or a stop never runs from one click (DIAGNOSTIC_FIX_NOT_ALLOWED).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from controlplane.clusters.models import Cluster
from controlplane.diagnostics.library import fault_library
from controlplane.diagnostics.models import Finding
from controlplane.errors import DomainError
from controlplane.operations import plans

ALLOWED_OPERATIONS = frozenset({"rolling_restart"})
ALLOWED_ACTIONS = frozenset({"service.start", "service.restart", "worker.start", "plugin.install", "health.check"})


class FixNotAllowed(DomainError):
    code = "DIAGNOSTIC_FIX_NOT_ALLOWED"


class NoFix(DomainError):
    code = "DIAGNOSTIC_FIX_NONE"


class PlanChanged(DomainError):
    code = "DIAGNOSTIC_FIX_PLAN_CHANGED"


@dataclass(frozen=True)
class FixPlan:
    finding_id: str
    kind: str  # operation | agent_action
    type: str
    operation_type: str  # what is requested: the operation itself, or run_action for an agent action
    operation_params: dict[str, Any]
    plan: dict[str, Any]  # what the person sees: the steps, their targets and params
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.plan, "plan_hash": self.hash}


def plan_fix(finding: Finding, cluster: Cluster, extra: dict[str, Any] | None = None) -> FixPlan:
    """The plan of the finding's fix now. ``extra``: params the reference leaves open (a jar for plugin.install),
    merged over the library's."""
    fingerprint = fault_library().get(finding.fingerprint_id)
    ref = fingerprint.one_click if fingerprint is not None else None
    if ref is None:
        raise NoFix(f"the fault {finding.fingerprint_id} has no one-click fix", finding_id=finding.id)
    extra = dict(extra or {})
    if ref.kind == "operation":
        if ref.type not in ALLOWED_OPERATIONS or ref.type not in plans.type_names():
            raise FixNotAllowed(f"the operation {ref.type!r} is not allowed as a one-click fix", type=ref.type)
        operation_type = ref.type
        params = {**dict(ref.params), **extra}
    else:
        from agent import schemas

        if ref.type not in ALLOWED_ACTIONS or ref.type not in schemas.types():
            raise FixNotAllowed(f"the agent action {ref.type!r} is not allowed as a one-click fix", type=ref.type)
        operation_type = "run_action"
        params = {"action": ref.type, "params": {**dict(ref.params), **extra}}
    if finding.node and "nodes" not in params:
        params["nodes"] = [finding.node]
    planned = plans.plan(operation_type, cluster, params)
    plan = {
        "finding_id": finding.id,
        "fingerprint_id": finding.fingerprint_id,
        "kind": ref.kind,
        "type": ref.type,
        "cluster_id": cluster.id,
        "operation": {"type": operation_type, "params": planned.params},
        "point": plans.point_of(operation_type),
        "steps": [s.to_dict() for s in planned.steps],
        "notes": list(planned.notes),
    }
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()
    return FixPlan(finding.id, ref.kind, ref.type, operation_type, planned.params, plan, digest)
