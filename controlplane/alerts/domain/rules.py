"""Alert rules: the kinds, their parameters, their validation, and the rule aggregate (decide/evolve over a
transition table).

Pure: no Django. A rule is ENABLED, DISABLED or DELETED; deleted is final. Validation errors are
ALERT_RULE_INVALID with ``details.field``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from controlplane.alerts.domain.errors import AlertRuleInvalid, AlertRuleNotFound, AlertTransitionIllegal
from controlplane.alerts.domain.events import RuleCreated, RuleDeleted, RuleDisabled, RuleEnabled, RuleUpdated
from controlplane.alerts.domain.matching import LABEL_NAME, parse_matchers
from controlplane.eventlog.errors import ConcurrencyConflict

SEVERITIES = ("critical", "warning", "info")

# Rules evaluated when an event arrives (subscribers.py): the event fires, a later event resolves.
EVENT_KINDS = ("run_failed", "agent_lost", "node_lost", "cluster_unreachable", "operation_failed")
# Rules evaluated by the beat task ``alerts.evaluate`` against the read models and the engines' job metrics.
TIME_KINDS = ("run_stuck", "no_progress", "low_throughput", "checkpoint_failing", "threshold")
KINDS = EVENT_KINDS + TIME_KINDS

STUCK_STATES = ("PENDING", "SUBMITTING", "RUNNING", "STOPPING", "UNKNOWN")
# The engine's job metric names (ZETA_FACTS §7) -> the keys the sync loop stores them under (RunTelemetry.metrics)
COUNT_METRICS = {"SourceReceivedCount": "source_received_count", "SinkWriteCount": "sink_write_count"}
RATE_METRICS = {"SourceReceivedQPS": "source_received_qps", "SinkWriteQPS": "sink_write_qps"}
# What the engine logs when a checkpoint fails (ZETA_FACTS §2 CheckpointCloseReason, §8 patterns 13 and 14)
CHECKPOINT_FAILURE_TEXTS = (
    "Checkpoint expired before completing",
    "CheckpointCoordinator inside have error",
    "store checkpoint failed",
    "store checkpoint states failed",
)
COMPARISONS = (">", ">=", "<", "<=", "==", "!=")

# Our own quantities a threshold rule may compare (computed from the database: alerts/quantities.py). Each says
# whether it counts over a window (``params.window_seconds``, required then).
QUANTITIES: dict[str, bool] = {
    "agent_heartbeat_age_seconds": False,  # per agent: seconds since its last heartbeat
    "operations_failed": True,  # per workspace: operations that failed within the window
    "runs_failed": True,  # per workspace: runs that failed within the window
}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a kind, as a form asks for it (``check_params`` is what validates it)."""

    name: str
    type: str  # "seconds" (a whole number), "number", "choice" (one of choices), "choices" (a non-empty list of them)
    choices: tuple[str, ...] = ()
    default: Any = None  # taken when the parameter is left out
    example: Any = None  # what a new rule's form shows for one with no default (docs/ALERTS.md)
    required: bool = False


# Each kind's parameters (a kind missing here takes none), in the order a form shows them.
PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "run_stuck": (
        Parameter("states", "choices", STUCK_STATES, default=("SUBMITTING", "STOPPING")),
        Parameter("seconds", "seconds", example=600, required=True),
    ),
    "no_progress": (
        Parameter("seconds", "seconds", example=600, required=True),
        Parameter("metric", "choice", tuple(COUNT_METRICS), default="SinkWriteCount"),
    ),
    "low_throughput": (
        Parameter("below", "number", example=100, required=True),
        Parameter("metric", "choice", tuple(RATE_METRICS), default="SourceReceivedQPS"),
    ),
    "threshold": (
        Parameter("quantity", "choice", tuple(QUANTITIES), example="agent_heartbeat_age_seconds", required=True),
        Parameter("op", "choice", COMPARISONS, example=">", required=True),
        Parameter("value", "number", example=120, required=True),
        Parameter("window_seconds", "seconds"),  # required by the quantities that count over a window
    ),
}

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$")
MAX_LABELS = 20
MAX_CHANNELS = 20
MAX_SECONDS = 30 * 24 * 3600
DEFAULT_REPEAT_SECONDS = 4 * 3600  # Alertmanager's default repeat_interval


class RuleStatus(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    DELETED = "DELETED"


TRANSITIONS: dict[RuleStatus, frozenset[RuleStatus]] = {
    RuleStatus.ENABLED: frozenset({RuleStatus.DISABLED, RuleStatus.DELETED}),
    RuleStatus.DISABLED: frozenset({RuleStatus.ENABLED, RuleStatus.DELETED}),
    RuleStatus.DELETED: frozenset(),
}


def _invalid(message: str, field_name: str) -> AlertRuleInvalid:
    return AlertRuleInvalid(message, field=field_name)


def _seconds(value: object, field_name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_SECONDS:
        raise _invalid(f"{field_name} must be a whole number of seconds from {minimum} to {MAX_SECONDS}", field_name)
    return value


def _number(value: object, field_name: str) -> float:
    # NaN and the infinities are refused: they compare to nothing useful, and JSON (a jsonb column) has none
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{field_name} must be a number", field_name)
    return float(value)


def _default(kind: str, name: str) -> Any:
    found = next(p.default for p in PARAMETERS[kind] if p.name == name)
    return list(found) if isinstance(found, tuple) else found


def check_params(kind: str, params: object) -> dict[str, Any]:
    """The kind's parameters (``PARAMETERS``), with defaults filled in."""
    if not isinstance(params, dict):
        raise _invalid("params must be an object", "params")
    extra = sorted(set(params) - {p.name for p in PARAMETERS.get(kind, ())})
    if extra:
        raise _invalid(f"params.{extra[0]} is not a parameter of this kind", f"params.{extra[0]}")
    if kind not in PARAMETERS:
        return {}
    if kind == "run_stuck":
        states = params.get("states", _default(kind, "states"))
        if not isinstance(states, list) or not states or any(s not in STUCK_STATES for s in states):
            raise _invalid(f"params.states must be a non-empty list of {', '.join(STUCK_STATES)}", "params.states")
        return {"states": sorted(set(states)), "seconds": _seconds(params.get("seconds"), "params.seconds", minimum=1)}
    if kind == "no_progress":
        metric = params.get("metric", _default(kind, "metric"))
        if metric not in COUNT_METRICS:
            raise _invalid(f"params.metric must be one of {', '.join(COUNT_METRICS)}", "params.metric")
        return {"metric": metric, "seconds": _seconds(params.get("seconds"), "params.seconds", minimum=1)}
    if kind == "low_throughput":
        metric = params.get("metric", _default(kind, "metric"))
        if metric not in RATE_METRICS:
            raise _invalid(f"params.metric must be one of {', '.join(RATE_METRICS)}", "params.metric")
        below = _number(params.get("below"), "params.below")
        if below <= 0:
            raise _invalid("params.below must be above 0 records per second", "params.below")
        return {"metric": metric, "below": below}
    # threshold
    quantity = params.get("quantity")
    if quantity not in QUANTITIES:
        raise _invalid(f"params.quantity must be one of {', '.join(sorted(QUANTITIES))}", "params.quantity")
    op = params.get("op")
    if op not in COMPARISONS:
        raise _invalid(f"params.op must be one of {', '.join(COMPARISONS)}", "params.op")
    checked: dict[str, Any] = {"quantity": quantity, "op": op, "value": _number(params.get("value"), "params.value")}
    if QUANTITIES[quantity]:
        checked["window_seconds"] = _seconds(params.get("window_seconds"), "params.window_seconds", minimum=1)
    elif "window_seconds" in params:
        raise _invalid(f"{quantity} takes no window", "params.window_seconds")
    return checked


def compare(value: float, op: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
        "==": value == threshold,
        "!=": value != threshold,
    }[op]


def _labels(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict) or len(raw) > MAX_LABELS:
        raise _invalid(f"labels must be an object of at most {MAX_LABELS} labels", "labels")
    for name, value in raw.items():
        if not isinstance(name, str) or not LABEL_NAME.match(name):
            raise _invalid(f"label name {str(name)[:50]!r} is not a label name", "labels")
        if not isinstance(value, str) or len(value) > 200:
            raise _invalid(f"label {name} must be text of at most 200 characters", "labels")
    return dict(raw)


def _names(raw: object, field_name: str, pattern: re.Pattern[str], limit: int) -> list[str]:
    if (
        not isinstance(raw, list)
        or len(raw) > limit
        or any(not isinstance(v, str) or not pattern.match(v) for v in raw)
    ):
        raise _invalid(f"{field_name} must be a list of at most {limit} names", field_name)
    if len(set(raw)) != len(raw):
        raise _invalid(f"{field_name} names one twice", field_name)
    return list(raw)


CHANNEL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EDITABLE = (
    "name",
    "params",
    "matchers",
    "severity",
    "labels",
    "group_by",
    "for_seconds",
    "repeat_interval_seconds",
    "resolve_after_seconds",
    "channel_ids",
)


def check_fields(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable fields present in ``raw`` (a partial update checks only what it changes)."""
    unknown = sorted(set(raw) - set(EDITABLE))
    if unknown:
        raise _invalid(f"{unknown[0]} cannot be set", unknown[0])
    out: dict[str, Any] = {}
    if "name" in raw:
        if not isinstance(raw["name"], str) or not NAME.match(raw["name"]):
            raise _invalid("name must be 1..100 characters of letters, digits, space, '_', '.', ':' and '-'", "name")
        out["name"] = raw["name"]
    if "params" in raw:
        out["params"] = check_params(kind, raw["params"])
    if "matchers" in raw:
        out["matchers"] = [
            m.to_dict() for m in parse_matchers(raw["matchers"], error=AlertRuleInvalid, field="matchers")
        ]
    if "severity" in raw:
        if raw["severity"] not in SEVERITIES:
            raise _invalid(f"severity must be one of {', '.join(SEVERITIES)}", "severity")
        out["severity"] = raw["severity"]
    if "labels" in raw:
        out["labels"] = _labels(raw["labels"])
    if "group_by" in raw:
        out["group_by"] = _names(raw["group_by"], "group_by", LABEL_NAME, MAX_LABELS)
    if "channel_ids" in raw:
        out["channel_ids"] = _names(raw["channel_ids"], "channel_ids", CHANNEL_ID, MAX_CHANNELS)
    for name in ("for_seconds", "resolve_after_seconds"):
        if name in raw:
            out[name] = _seconds(raw[name], name)
    if "repeat_interval_seconds" in raw:
        out["repeat_interval_seconds"] = _seconds(raw["repeat_interval_seconds"], "repeat_interval_seconds", minimum=60)
    if out.get("for_seconds") and kind in EVENT_KINDS:
        raise _invalid("an event rule fires when its event arrives: for_seconds does not apply", "for_seconds")
    return out


def check_new_rule(raw: dict[str, Any]) -> dict[str, Any]:
    """A whole new rule: kind, name and the kind's params required; the rest defaulted."""
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _invalid(f"kind must be one of {', '.join(KINDS)}", "kind")
    if "name" not in raw:
        raise _invalid("a rule needs a name", "name")
    fields = check_fields(kind, {k: v for k, v in raw.items() if k != "kind"})
    return {
        "kind": kind,
        "params": fields["params"] if "params" in fields else check_params(kind, {}),
        "matchers": fields.get("matchers", []),
        "severity": fields.get("severity", "warning"),
        "labels": fields.get("labels", {}),
        "group_by": fields.get("group_by", ["cluster"]),
        "for_seconds": fields.get("for_seconds", 0),
        "repeat_interval_seconds": fields.get("repeat_interval_seconds", DEFAULT_REPEAT_SECONDS),
        "resolve_after_seconds": fields.get("resolve_after_seconds", 0),
        "channel_ids": fields.get("channel_ids", []),
        "name": fields["name"],
    }


# -- the aggregate ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleState:
    exists: bool = False
    status: RuleStatus = RuleStatus.ENABLED
    rule_id: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    kind: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.exists and self.status != RuleStatus.DELETED


def _move(state: RuleState, target: RuleStatus) -> None:
    if not state.live:
        raise AlertRuleNotFound("no such alert rule", rule_id=state.rule_id)
    if target not in TRANSITIONS[state.status]:
        raise AlertTransitionIllegal(f"a rule cannot go from {state.status} to {target}", current=str(state.status))


def create_rule(state: RuleState, *, rule_id: str, tenant_id: str, workspace_id: str, raw: dict) -> list[object]:
    if state.exists:
        raise ConcurrencyConflict(f"rule {rule_id} already exists", stream_id=f"alert-rule-{rule_id}")
    checked = check_new_rule(raw)
    return [RuleCreated(rule_id=rule_id, tenant_id=tenant_id, workspace_id=workspace_id, **checked)]


def update_rule(state: RuleState, *, raw: dict[str, Any]) -> list[object]:
    """Edit fields and, with ``enabled`` in ``raw``, enable or disable. Unchanged values write nothing."""
    if not state.live:
        raise AlertRuleNotFound("no such alert rule", rule_id=state.rule_id)
    enabled = raw.get("enabled")
    if "enabled" in raw and not isinstance(enabled, bool):
        raise _invalid("enabled must be true or false", "enabled")
    changes = {
        k: v
        for k, v in check_fields(state.kind, {k: v for k, v in raw.items() if k != "enabled"}).items()
        if state.fields.get(k) != v
    }
    events: list[object] = [RuleUpdated(rule_id=state.rule_id, changes=changes)] if changes else []
    if enabled is not None and enabled != (state.status == RuleStatus.ENABLED):
        target = RuleStatus.ENABLED if enabled else RuleStatus.DISABLED
        _move(state, target)
        events.append(RuleEnabled(rule_id=state.rule_id) if enabled else RuleDisabled(rule_id=state.rule_id))
    return events


def delete_rule(state: RuleState) -> list[object]:
    _move(state, RuleStatus.DELETED)
    return [RuleDeleted(rule_id=state.rule_id)]


def evolve(state: RuleState, event: Any) -> RuleState:
    data = event.data
    if isinstance(data, RuleCreated):
        fields = {k: getattr(data, k) for k in EDITABLE}
        return RuleState(
            exists=True,
            rule_id=data.rule_id,
            tenant_id=data.tenant_id,
            workspace_id=data.workspace_id,
            kind=data.kind,
            fields=fields,
        )
    if isinstance(data, RuleUpdated):
        return replace(state, fields={**state.fields, **data.changes})
    if isinstance(data, RuleDisabled):
        return replace(state, status=RuleStatus.DISABLED)
    if isinstance(data, RuleEnabled):
        return replace(state, status=RuleStatus.ENABLED)
    if isinstance(data, RuleDeleted):
        return replace(state, status=RuleStatus.DELETED)
    return state


def to_snapshot(state: RuleState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "status": str(state.status),
        "rule_id": state.rule_id,
        "tenant_id": state.tenant_id,
        "workspace_id": state.workspace_id,
        "kind": state.kind,
        "fields": state.fields,
    }


def from_snapshot(data: dict[str, Any]) -> RuleState:
    return RuleState(**{**data, "status": RuleStatus(data["status"])})
