"""A plan: the ordered steps of an operation, fixed when it is requested (the dry run shows the same plan).

A step runs in the control plane (``runs_in="control_plane"``: pausing runs, waiting for a node to be listed) or
as actions on agents (``runs_in="agent"``: one action per target, all targets of the step at once: a batch).
``kind`` names the handler that runs it (``controlplane/operations/steps.py``); ``compensation`` names the handler
that undoes it when a later step fails for good or the operation is cancelled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RUNS_IN = ("control_plane", "agent")


@dataclass(frozen=True)
class Target:
    """One node an agent step acts on (or a control-plane step is about)."""

    node_id: str = ""
    address: str = ""  # host:port of the SeaTunnel member, as the engine lists it
    agent_id: str = ""
    hostname: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        return cls(**{k: str(data.get(k, "")) for k in ("node_id", "address", "agent_id", "hostname")})


@dataclass(frozen=True)
class StepSpec:
    key: str  # unique within the plan: "b1.restart"
    kind: str  # handler name: "agent.action", "runs.pause", ...
    title: str
    runs_in: str = "control_plane"
    targets: tuple[Target, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None  # the batch of nodes this step belongs to (1-based), None: cluster-wide
    compensation: str | None = None  # handler kind that undoes this step
    max_attempts: int = 3  # attempts in all, counting the first; only transient errors are retried
    timeout_seconds: int = 300  # one run of the handler (Celery's soft limit; the hard limit is a little later)
    continue_on_failure: bool = False  # a final failure skips the rest of this batch instead of stopping

    def __post_init__(self) -> None:
        if self.runs_in not in RUNS_IN:
            raise ValueError(f"runs_in is one of {RUNS_IN}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "runs_in": self.runs_in,
            "targets": [t.to_dict() for t in self.targets],
            "params": dict(self.params),
            "batch": self.batch,
            "compensation": self.compensation,
            "max_attempts": self.max_attempts,
            "timeout_seconds": self.timeout_seconds,
            "continue_on_failure": self.continue_on_failure,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepSpec:
        return cls(
            key=data["key"],
            kind=data["kind"],
            title=data["title"],
            runs_in=data["runs_in"],
            targets=tuple(Target.from_dict(t) for t in data.get("targets", ())),
            params=dict(data.get("params") or {}),
            batch=data.get("batch"),
            compensation=data.get("compensation"),
            max_attempts=int(data.get("max_attempts", 3)),
            timeout_seconds=int(data.get("timeout_seconds", 300)),
            continue_on_failure=bool(data.get("continue_on_failure", False)),
        )


def batches(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` cut into consecutive batches of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError("a batch holds at least one node")
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_plan(steps: list[StepSpec]) -> None:
    keys = [s.key for s in steps]
    if len(set(keys)) != len(keys):
        raise ValueError(f"step keys must be unique in a plan: {keys}")
