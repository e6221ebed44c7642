"""Step handlers: the side effects of an operation's steps, one kind per function.

A handler gets a ``StepContext`` and returns ``Done(result)`` or ``Wait(seconds)`` (not finished: the runner frees
the worker and re-queues the operation after that countdown), or raises ``StepError`` (``transient`` errors are
retried with backoff as a new attempt). It is called again for the same attempt after a ``Wait`` and after a
worker died mid-call, so it must be idempotent under the attempt's key: agent actions are requested with a key
(the same key is the same action), control-plane handlers write down what they did in the step's journal
(``ctx.progress(detail=...)``) in the same transaction as doing it, and check the journal first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.jobs import selectors as jobs_selectors
from controlplane.operations import selectors
from controlplane.operations.domain.aggregate import OperationAggregate, StepStatus
from controlplane.operations.domain.plan import StepSpec

if TYPE_CHECKING:
    from controlplane.jobs.models import Run


@dataclass(frozen=True)
class Done:
    result: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    seconds: float
    message: str = ""


Outcome = Done | Wait


class StepError(DomainError):
    """A step attempt failed. ``transient``: worth another attempt (an unreachable agent, a timeout)."""

    code = "OPERATION_STEP_FAILED"

    def __init__(
        self, message: str, *, code: str | None = None, transient: bool = False, result: dict | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.transient = transient
        self.result = result


@dataclass
class StepContext:
    operation: OperationAggregate
    spec: StepSpec
    status: StepStatus
    attempt: int
    compensating: bool  # running the step's compensation, not the step
    metadata: Metadata
    now: datetime
    record_progress: Callable[..., None]  # (message="", percent=None, detail=None): one fenced event

    @property
    def key(self) -> str:
        """The idempotency key of this attempt: (operation, step, attempt)."""
        part = "undo" if self.compensating else "do"
        return f"{self.operation.operation_id}:{self.spec.key}:{part}:{self.attempt}"

    @property
    def cancelling(self) -> bool:
        return self.operation.cancel_requested

    def journal(self, step_key: str | None = None) -> list[dict]:
        """What this step (or another step of the plan) wrote down, all attempts."""
        if step_key is None or step_key == self.spec.key:
            return list(self.status.journal)
        return list(self.operation.status(step_key).journal)

    def progress(self, message: str = "", *, percent: int | None = None, detail: dict | None = None) -> None:
        self.record_progress(message=message, percent=percent, detail=detail)


Handler = Callable[[StepContext], Outcome]
_HANDLERS: dict[str, Handler] = {}


def step_kind(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn

    return register


def handler_for(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise StepError(f"no handler for step kind {kind!r}", code="OPERATION_STEP_KIND_UNKNOWN") from None


def known_kinds() -> frozenset[str]:
    return frozenset(_HANDLERS)


def poll_seconds() -> float:
    return float(settings.OPERATION_POLL_SECONDS)


# -- control plane: waiting -------------------------------------------------------------------------------
@step_kind("control.wait")
def wait_step(ctx: StepContext) -> Outcome:
    """Pause between batches without holding a worker: the deadline is written down on the first call. A cancel
    ends the wait at once."""
    if ctx.cancelling:
        raise StepError("the operation was cancelled during the wait", code="OPERATION_STEP_CANCELLED")
    marks = [j["until"] for j in ctx.journal() if j.get("attempt") == ctx.attempt and "until" in j]
    if not marks:
        until = ctx.now + timedelta(seconds=float(ctx.spec.params.get("seconds", 0)))
        ctx.progress(f"waiting until {until.isoformat()}", detail={"attempt": ctx.attempt, "until": until.isoformat()})
    else:
        until = datetime.fromisoformat(marks[0])
    left = (until - ctx.now).total_seconds()
    return Wait(left) if left > 0 else Done({"waited_until": until.isoformat()})


# -- agent actions ----------------------------------------------------------------------------------------
TRANSIENT_ACTION_STATES = frozenset({"EXPIRED"})  # the agent never picked it up: offline for a while


@step_kind("agent.action")
def agent_action(ctx: StepContext) -> Outcome:
    """One catalog action on every target's agent (a batch), keyed (operation, step, attempt, agent): asking again
    after a crash finds the same action. A cancel of the operation is forwarded to the unfinished actions.
    ``params.per_agent`` (agent id -> params) gives a target params of its own (an install: each node its role and
    ports); the others get ``params.params``."""
    per_agent = ctx.spec.params.get("per_agent") or {}
    base = ctx.spec.params.get("params") or {}
    return run_agent_actions(
        ctx,
        ctx.spec.params["action"],
        {t.agent_id: per_agent.get(t.agent_id, base) for t in ctx.spec.targets},
        expires_in_seconds=int(ctx.spec.params.get("expires_in_seconds", 600)),
    )


def run_agent_actions(
    ctx: StepContext, action_type: str, params: dict[str, dict], *, expires_in_seconds: int = 600, tag: str = ""
) -> Outcome:
    """The actions of one attempt: ``params`` maps each agent id to the params of its action. Each is asked once
    under the attempt's key (``tag`` tells apart several sets of actions in one attempt), written to the journal in
    the same transaction; Done with every target's result when all finished and succeeded, StepError otherwise."""
    from controlplane.agents import dispatch  # the agents app, at use (it may not be installed in every test)

    journal_key = f"actions{tag}"
    ids: dict[str, str] = {}
    for entry in ctx.journal():
        if entry.get("attempt") == ctx.attempt and journal_key in entry:
            ids.update(entry[journal_key])
    missing = [agent_id for agent_id in params if agent_id not in ids]
    if missing:
        with transaction.atomic():
            asked = {
                agent_id: dispatch.request_action(
                    metadata=ctx.metadata,
                    agent_id=agent_id,
                    action_type=action_type,
                    params=params[agent_id],
                    key=f"{ctx.key}{tag}:{agent_id}",
                    expires_in_seconds=expires_in_seconds,
                    operation_id=ctx.operation.operation_id,
                    step_key=ctx.spec.key,
                )
                for agent_id in missing
            }
            ctx.progress(
                f"{action_type} asked of {len(asked)} agent(s)", detail={"attempt": ctx.attempt, journal_key: asked}
            )
        ids.update(asked)
    views = {agent_id: dispatch.get_action(action_id) for agent_id, action_id in ids.items()}
    unfinished = [v for v in views.values() if not v.finished]
    forwarded = any(j.get("attempt") == ctx.attempt and j.get(f"cancel_forwarded{tag}") for j in ctx.journal())
    if ctx.cancelling and unfinished and not forwarded:
        with transaction.atomic():
            for view in unfinished:
                dispatch.request_cancel(metadata=ctx.metadata, action_id=view.id)
            ctx.progress(
                "cancel forwarded to the agents", detail={"attempt": ctx.attempt, f"cancel_forwarded{tag}": True}
            )
    if unfinished:
        return Wait(poll_seconds())
    per_target = {
        agent_id: {
            "action_id": v.id,
            "state": v.state,
            "result": v.result,
            "error_code": v.error_code,
            "error_message": v.error_message,
            "output_tail": (v.output_tail or "")[-2000:],
        }
        for agent_id, v in views.items()
    }
    bad = [v for v in views.values() if v.state != "SUCCEEDED"]
    if not bad:
        return Done({"action": action_type, "targets": per_target})
    first = bad[0]
    if any(v.state == "CANCELLED" for v in bad):
        code = "OPERATION_STEP_CANCELLED"
    else:
        code = first.error_code or f"AGENT_ACTION_{first.state}"
    raise StepError(
        f"{action_type} ended {first.state} on {len(bad)} of {len(views)} agent(s): {first.error_message}".strip(),
        code=code,
        transient=all(v.state in TRANSIENT_ACTION_STATES for v in bad),
        result={"action": action_type, "targets": per_target},
    )


# -- control plane: streaming runs around a restart -------------------------------------------------------
def _streaming_running(op: OperationAggregate) -> list[Run]:
    return jobs_selectors.running_streaming_runs_for_system(op.tenant_id, op.cluster_id)


def _ours(journal: list[dict], key: str) -> list[str]:
    seen: list[str] = []
    for entry in journal:
        if key in entry and entry[key] not in seen:
            seen.append(entry[key])
    return seen


def _jobs_on(ctx: StepContext) -> set[int] | None:
    """Engine job ids with tasks on the step's target members (3.x ``/resource/workers``); None while the engine
    cannot say. An engine without the endpoint counts every job as placed there: pausing more is the safe side."""
    from controlplane.clusters.connect import client_for
    from controlplane.seatunnel.client import ZetaUnreachable, ZetaUnsupported

    cluster = selectors.cluster_for_system(ctx.operation.tenant_id, ctx.operation.cluster_id)
    if cluster is None:
        raise StepError("the cluster was removed", code="CLUSTER_NOT_FOUND")
    try:
        with client_for(cluster, timeout=5.0) as client:
            placed = client.worker_jobs()
    except ZetaUnsupported:
        return {r.engine_job_id for r in _streaming_running(ctx.operation)}
    except ZetaUnreachable as error:
        raise StepError(error.message, code=error.code, transient=True) from None
    if placed is None:
        return None
    addresses = {t.address for t in ctx.spec.targets}
    return {job for address, jobs in placed.items() if address in addresses for job in jobs}


@step_kind("runs.pause")
def pause_runs(ctx: StepContext) -> Outcome:
    """Stop the cluster's RUNNING streaming runs with a savepoint (with ``params.placement``: only those with tasks
    on the step's target members) and wait until they are PAUSED. Each pause is
    written to the journal in the transaction that asks for it, so a resumed attempt knows which runs are ours
    (and the compensation resumes exactly those)."""
    from controlplane.jobs import run_actions

    ours = _ours(ctx.journal(), "paused_run")
    candidates = _streaming_running(ctx.operation)
    if ctx.spec.params.get("placement") and candidates:
        placed = _jobs_on(ctx)
        if placed is None:
            return Wait(poll_seconds())  # the engine cannot say right now (a master election)
        candidates = [r for r in candidates if r.engine_job_id in placed]
    for run in candidates:
        if run.id in ours:
            continue
        try:
            with transaction.atomic():
                ctx.progress(f"pausing run {run.id}", detail={"paused_run": run.id})
                run_actions.do_stop_run(metadata=ctx.metadata, run=run, savepoint=True)
        except DomainError as error:
            if error.code not in ("RUN_TRANSITION_ILLEGAL", "EVENTLOG_CONCURRENCY_CONFLICT"):
                raise
            continue  # it stopped running since it was read: nothing to pause
        ours.append(run.id)
    states = {r.id: r.state for r in jobs_selectors.runs_for_system(ours).values()}
    if any(states.get(r) in ("RUNNING", "STOPPING", "SUBMITTING") for r in ours):
        return Wait(poll_seconds())
    not_paused = {r: states.get(r, "") for r in ours if states.get(r) != "PAUSED"}
    if not_paused:
        raise StepError(
            f"{len(not_paused)} run(s) did not pause: {not_paused}",
            code="OPERATION_RUN_PAUSE_FAILED",
            result={"paused": [r for r in ours if r not in not_paused], "not_paused": not_paused},
        )
    return Done({"paused": ours})


RESUME_ASK_AGAIN = timedelta(seconds=30)  # a resume whose submit task was lost is asked for again after this


@step_kind("runs.resume")
def resume_runs(ctx: StepContext) -> Outcome:
    """Resume the runs a pause step of this operation paused (``params.pause_step``, or the step itself when this
    is its compensation). Done when none is PAUSED any more and each was taken by the engine or ended."""
    from controlplane.jobs import run_actions

    source = ctx.spec.key if ctx.compensating else ctx.spec.params["pause_step"]
    paused = _ours(ctx.journal(source), "paused_run")
    asked: dict[str, datetime] = {}
    for entry in ctx.journal():
        if entry.get("resumed_run") and entry.get("key") == ctx.key:
            asked[entry["resumed_run"]] = datetime.fromisoformat(entry["at"])
    runs = jobs_selectors.runs_for_system(paused)
    for run_id in paused:
        run = runs.get(run_id)
        if run is None or run.state != "PAUSED":
            continue
        if run_id in asked and ctx.now - asked[run_id] < RESUME_ASK_AGAIN:
            continue
        with transaction.atomic():
            ctx.progress(
                f"resuming run {run_id}", detail={"resumed_run": run_id, "key": ctx.key, "at": ctx.now.isoformat()}
            )
            run_actions.do_resume_run(metadata=ctx.metadata, run=run)
    runs = jobs_selectors.runs_for_system(paused)
    waiting = [
        r
        for r in runs.values()
        if r.state in ("PAUSED", "STOPPING") or (r.state == "SUBMITTING" and not r.acknowledged)
    ]
    if waiting:
        return Wait(poll_seconds())
    lost = {r.id: r.state for r in runs.values() if r.state not in ("RUNNING", "SUBMITTING")}
    result = {"resumed": [r for r in paused if r in runs and r not in lost], "not_running": lost}
    if lost:
        raise StepError(
            f"{len(lost)} paused run(s) did not come back: {lost}", code="OPERATION_RUN_RESUME_FAILED", result=result
        )
    return Done(result)


# -- control plane: the cluster lists the node again ------------------------------------------------------
@step_kind("node.rejoin")
def node_rejoin(ctx: StepContext) -> Outcome:
    """Wait until the cluster lists each target member again after the restart: a health poll (the same one beat
    runs) that saw the member's address after this attempt began. Engines that list members without addresses
    (older versions) can only say the cluster is reachable again."""
    from controlplane.clusters import health

    since_marks = [j["since"] for j in ctx.journal() if j.get("attempt") == ctx.attempt and "since" in j]
    if not since_marks:
        since = ctx.now
        ctx.progress(
            "waiting for the cluster to list the node(s)", detail={"attempt": ctx.attempt, "since": since.isoformat()}
        )
    else:
        since = datetime.fromisoformat(since_marks[0])
    cluster = selectors.cluster_for_system(ctx.operation.tenant_id, ctx.operation.cluster_id)
    if cluster is None:
        raise StepError("the cluster was removed", code="CLUSTER_NOT_FOUND")
    observed = health.poll_one(cluster, metadata=ctx.metadata)
    row = selectors.cluster_health_for_system(cluster)
    listed: dict[str, bool] = {}
    for target in ctx.spec.targets:
        if row is not None and row.members_identified:
            seen = row.last_seen.get(target.address)
            node = selectors.node_for_system(cluster, target.address)
            listed[target.address] = bool(
                seen and datetime.fromisoformat(seen) >= since and node is not None and node.status == "online"
            )
        else:
            listed[target.address] = observed.reachable
    if all(listed.values()):
        return Done({"listed": sorted(listed)})
    limit = float(ctx.spec.params.get("within_seconds", 180))
    if (ctx.now - since).total_seconds() > limit:
        missing = sorted(a for a, ok in listed.items() if not ok)
        raise StepError(
            f"the cluster did not list {', '.join(missing)} within {int(limit)} s",
            code="OPERATION_NODE_NOT_LISTED",
            result={"missing": missing},
        )
    return Wait(poll_seconds())
