"""Control-plane step kinds and an operation type for tests of the runner. Imported by the tests and, with
``celery worker --include tests.operations.kinds``, by the real worker processes of the crash tests.

Every side effect is a line in a file (``params.file``) keyed by (operation, step, attempt): a handler that is
run again for the same attempt (a resumed one) finds its line and does not write it twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from controlplane.operations import plans
from controlplane.operations.domain.plan import StepSpec, Target
from controlplane.operations.steps import Done, StepContext, StepError, Wait, step_kind
from tests.waiting import wait_until


def lines(path: str | Path) -> list[str]:
    p = Path(path)
    return p.read_text().splitlines() if p.exists() else []


def _append_once(path: str, line: str) -> bool:
    if line in lines(path):
        return False
    with open(path, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


@step_kind("testing.record")
def record(ctx: StepContext) -> Done:
    """Write this attempt's key once, then, given ``hold_until`` (a path), hold until the test creates that file:
    a step a worker can be killed in, or a broker restarted under, for exactly as long as the test needs."""
    _append_once(ctx.spec.params["file"], ctx.key)
    gate = ctx.spec.params.get("hold_until")
    if gate:
        # bounded below the step's own timeout (60 s): a test that never opens the gate fails, it does not hang
        wait_until(lambda: Path(gate).exists(), timeout=50, interval=0.05, message=f"the test to create {gate}")
    return Done({"key": ctx.key})


@step_kind("testing.flaky")
def flaky(ctx: StepContext) -> Done:
    """Fails with a transient error until attempt ``succeed_at``."""
    _append_once(ctx.spec.params["file"], ctx.key)
    if ctx.attempt < int(ctx.spec.params["succeed_at"]):
        raise StepError("not yet", code="TESTING_TRANSIENT", transient=True)
    return Done({"attempts": ctx.attempt})


@step_kind("testing.fail")
def fail(ctx: StepContext) -> Done:
    _append_once(ctx.spec.params["file"], ctx.key)
    raise StepError("this step always fails", code="TESTING_BROKEN", transient=bool(ctx.spec.params.get("transient")))


@step_kind("testing.undo")
def undo(ctx: StepContext) -> Done:
    """The compensation of a testing step: its own keyed line (``...:undo:<attempt>``)."""
    _append_once(ctx.spec.params["file"], ctx.key)
    return Done({"undone": ctx.spec.key})


@step_kind("testing.hold")
def hold(ctx: StepContext) -> Done | Wait:
    """Waits (without holding a worker) until ``params.release`` exists."""
    _append_once(ctx.spec.params["file"], ctx.key)
    if ctx.cancelling:
        raise StepError("cancelled while holding", code="OPERATION_STEP_CANCELLED")
    if Path(ctx.spec.params["release"]).exists():
        return Done({})
    return Wait(0.05)


def plan_steps(cluster: Any, params: dict[str, Any]) -> plans.Planned:
    """``params.steps``: each {key, kind, compensation?, max_attempts?, continue_on_failure?, batch?, targets?,
    params}."""
    steps = [
        StepSpec(
            key=s["key"],
            kind=s["kind"],
            title=s.get("title", s["key"]),
            params=s.get("params", {}),
            compensation=s.get("compensation"),
            max_attempts=s.get("max_attempts", 3),
            continue_on_failure=s.get("continue_on_failure", False),
            batch=s.get("batch"),
            timeout_seconds=s.get("timeout_seconds", 60),
            targets=tuple(Target.from_dict(t) for t in s.get("targets", ())),
        )
        for s in params["steps"]
    ]
    return plans.Planned(steps, params, ["a plan of testing steps"])


plans.register_type("testing.steps", plan_steps)


def recorded_steps(file: str | Path, *keys: str, **common: Any) -> list[dict[str, Any]]:
    return [{"key": k, "kind": "testing.record", "params": {"file": str(file), **common}} for k in keys]


@step_kind("testing.undo_fails")
def undo_fails(ctx: StepContext) -> Done:
    _append_once(ctx.spec.params["file"], ctx.key)
    raise StepError("cannot undo", code="TESTING_UNDO_BROKEN")
