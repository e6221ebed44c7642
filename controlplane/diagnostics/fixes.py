"""A finding's one-click fix as a plan a person confirms: which operation (or agent action, run as a ``run_action``
operation), on which nodes, with what params, and the plan's hash. Confirming names the hash; the fix runs only
when planning it again gives the same hash (nothing changed in between: the nodes, their agents, the library).

Only an allowlist of references can run from here, whatever the library names: restarts and starts, a health
check, a connector jar. An installer operation or a stop never runs from one click (DIAGNOSTIC_FIX_NOT_ALLOWED).

A ``job_version`` fix changes the config of the finding's run's job instead: a new job version written by the jobs
app's writer, never a run (``raise_checkpoint_timeout``: see ``_raise_checkpoint_timeout`` for the rule).
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
JOB_VERSION_FIXES = frozenset({"raise_checkpoint_timeout"})

# checkpoint.timeout when the job's env does not set it: the shipped seatunnel.yaml's 60000 ms (ZETA_FACTS §10;
# the engine's code default, 30000, applies only without that file)
ENGINE_CHECKPOINT_TIMEOUT_MS = 60_000
MIN_RAISED_CHECKPOINT_TIMEOUT_MS = 600_000  # ten minutes: a raise worth a new version
TIMEOUT_KEY = "checkpoint.timeout"


class FixNotAllowed(DomainError):
    code = "DIAGNOSTIC_FIX_NOT_ALLOWED"


class NoFix(DomainError):
    code = "DIAGNOSTIC_FIX_NONE"


class PlanChanged(DomainError):
    code = "DIAGNOSTIC_FIX_PLAN_CHANGED"


class NeedsRun(DomainError):
    code = "DIAGNOSTIC_FIX_NEEDS_RUN"


class JobGone(DomainError):
    code = "DIAGNOSTIC_FIX_JOB_GONE"


class FormatUnsupported(DomainError):
    code = "DIAGNOSTIC_FIX_FORMAT_UNSUPPORTED"


class ValueUnreadable(DomainError):
    code = "DIAGNOSTIC_FIX_VALUE_UNREADABLE"


@dataclass(frozen=True)
class FixPlan:
    finding_id: str
    kind: str  # operation | agent_action | job_version
    type: str
    operation_type: str  # what is requested: the operation itself, run_action for an agent action ("" job_version)
    operation_params: dict[str, Any]  # job_version: job_id, config, format, from_version, stream_version
    plan: dict[str, Any]  # what the person sees: the steps, their targets and params
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.plan, "plan_hash": self.hash}


def kind_of(finding: Finding) -> str | None:
    """The kind of the finding's one-click fix, or None."""
    fingerprint = fault_library().get(finding.fingerprint_id)
    return fingerprint.one_click.kind if fingerprint is not None and fingerprint.one_click is not None else None


def plan_fix(finding: Finding, cluster: Cluster, extra: dict[str, Any] | None = None) -> FixPlan:
    """The plan of the finding's fix now. ``extra``: params the reference leaves open (a jar for plugin.install),
    merged over the library's."""
    fingerprint = fault_library().get(finding.fingerprint_id)
    ref = fingerprint.one_click if fingerprint is not None else None
    if ref is None:
        raise NoFix(f"the fault {finding.fingerprint_id} has no one-click fix", finding_id=finding.id)
    extra = dict(extra or {})
    if ref.kind == "job_version":
        return _plan_job_version(finding, cluster, ref.type)
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


def _plan_job_version(finding: Finding, cluster: Cluster, type: str) -> FixPlan:
    """The new version of the finding's run's job: its current config with the one change, and the diff. The hash
    covers the job's current version, so a version written in between makes a confirmed plan stale."""
    from controlplane.jobs import selectors as jobs
    from controlplane.seatunnel.config.diff import diff_configs
    from controlplane.seatunnel.config.parse import parse_config

    if type not in JOB_VERSION_FIXES:
        raise FixNotAllowed(f"the job-version fix {type!r} is not allowed as a one-click fix", type=type)
    run = jobs.run_for_system(finding.run_id) if finding.run_id else None
    if run is None or run.tenant_id != finding.tenant_id:
        raise NeedsRun(
            "this fix changes the config of the run's job: diagnose the failed run to get a finding attached to it",
            finding_id=finding.id,
        )
    job = jobs.live_job_for_system(run.job_id)
    version = jobs.version_for_system(job.id, job.current_version) if job is not None else None
    if job is None or version is None:
        raise JobGone("the run's job was deleted", job_id=run.job_id)
    old, new, source = _raise_checkpoint_timeout(version.normalised.get("env", {}))
    text = _with_env_option(version.text, version.format, TIMEOUT_KEY, new)
    parsed = parse_config(text, version.format, variables=list(version.variables))
    plan = {
        "finding_id": finding.id,
        "fingerprint_id": finding.fingerprint_id,
        "kind": "job_version",
        "type": type,
        "cluster_id": cluster.id,
        "job": {"id": job.id, "name": job.name},
        "from_version": version.version,
        "to_version": job.current_version + 1,
        "change": {"key": f"env.{TIMEOUT_KEY}", "old": old, "old_from": source, "new": new},
        "diff": diff_configs(version.text, version.normalised, parsed.text, parsed.normalised),
        "point": "job.update",
        "notes": [
            "writes a new job version only: no run is started or restarted; start the job again to use it",
        ],
    }
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()
    params = {
        "job_id": job.id,
        "config": parsed.text,
        "format": version.format,
        "from_version": version.version,
        "stream_version": job.version,
    }
    return FixPlan(finding.id, "job_version", type, "", params, plan, digest)


def _raise_checkpoint_timeout(env: dict[str, Any]) -> tuple[int, int, str]:
    """(old, new, where old came from). new = max(2 x old, 2 x checkpoint.interval, 10 minutes): twice what expired,
    never shorter than two intervals (a timeout below the interval cannot finish), and at least a raise worth a
    version. old is the job's own value, else the engine default."""
    from controlplane.seatunnel.config.normal import option_value

    raw = option_value(env, TIMEOUT_KEY)
    old, source = (
        (_millis(TIMEOUT_KEY, raw), "job")
        if raw not in (None, "")
        else (ENGINE_CHECKPOINT_TIMEOUT_MS, "engine default")
    )
    interval = option_value(env, "checkpoint.interval")
    doubled_interval = 2 * _millis("checkpoint.interval", interval) if interval not in (None, "") else 0
    return old, max(2 * old, doubled_interval, MIN_RAISED_CHECKPOINT_TIMEOUT_MS), source


def _millis(key: str, value: Any) -> int:
    """A whole number of milliseconds as written; a `${name}` variable is known only when a run starts."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueUnreadable(
            f"env {key} is {value!r}, not a number of milliseconds: change it in a new version by hand",
            key=key,
            value=str(value),
        ) from None


def _with_env_option(text: str, fmt: str, key: str, value: int) -> str:
    """The config text with one env option set. HOCON: a trailing ``env`` block that HOCON merges over the first
    (a later key wins), so every other byte stays as written. JSON: the object rewritten with the key set."""
    if fmt == "hocon":
        return f'{text.rstrip()}\n\n# set by a one-click fix (diagnostics)\nenv {{\n  "{key}" = {value}\n}}\n'
    if fmt == "json":
        data = json.loads(text)
        data.setdefault("env", {})[key] = value
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    raise FormatUnsupported(
        f"a one-click fix cannot edit a {fmt} job config: change {key} in a new version by hand", format=fmt
    )
