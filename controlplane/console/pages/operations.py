"""Operations: the list (filter by state and type) and an operation's page, whose live part (``operation_state``, a
fragment: state, progress, the plan's steps with a bar per node) ``console.js`` reloads whenever the operation's
websocket (``/ws/v1/operations/<id>/``, docs/LIVE.md: the operation's stream and its agent actions' streams)
brings an event. Cancel posts to ``do_cancel_operation``, the API's writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from controlplane.agents.models import Action
from controlplane.agents.selectors import operation_action_list
from controlplane.clusters.selectors import cluster_list
from controlplane.console.labels import OPERATION_TYPES, STATES
from controlplane.console.pages.frame import Scope, action, page, readable_one, render
from controlplane.eventlog.metadata import Metadata
from controlplane.operations import actions, selectors
from controlplane.operations.domain.states import OperationState, StepState
from controlplane.operations.models import Operation, OperationStep
from controlplane.operations.plans import type_names

PAGE_ROWS = 100
CANCELLABLE = (OperationState.PENDING, OperationState.RUNNING)  # what aggregate.request_cancel accepts
# A step (or a node's agent action) in one of these is as far as it goes: its bar is full.
COMPLETE = {StepState.SUCCEEDED.value, StepState.COMPENSATED.value}
STATE_CODES = [state.value for state in OperationState]


@dataclass(frozen=True)
class Bar:
    """One progress bar: a step's, or one node's part of a step (its agent action when it has one)."""

    label: str
    state: str
    percent: int | None  # None: under way, nothing measured yet (or not begun)
    message: str = ""


@dataclass(frozen=True)
class StepView:
    step: OperationStep
    bar: Bar
    nodes: list[Bar]


def operation_of(scope: Scope, operation_id: str) -> Operation:
    """The operation if this user may read it here (404 otherwise, another tenant's too)."""
    return readable_one(scope, "operation.read", "cluster", selectors.operation_list(), operation_id)


def _percent(state: str, measured: int | None) -> int | None:
    return 100 if state in COMPLETE else measured


def _node_bars(step: OperationStep, by_agent: dict[str, Action]) -> list[Bar]:
    """A bar per target node: its agent action's state and progress when the step asked one of it (the latest
    attempt's), the step's own otherwise (a control-plane step such as a rejoin check)."""
    bars = []
    for target in step.targets:
        name = target.get("hostname") or target.get("address") or target.get("agent_id", "")
        asked = by_agent.get(target.get("agent_id", ""))
        if asked is not None:
            bars.append(Bar(name, asked.state, _percent(asked.state, asked.progress_percent), asked.progress_message))
        else:
            bars.append(Bar(name, step.state, _percent(step.state, step.percent)))
    return bars


def _steps(operation: Operation) -> list[StepView]:
    actions_by_step: dict[str, dict[str, Action]] = {}
    for asked in operation_action_list(operation.id):  # oldest first: a retry's action replaces the earlier one
        actions_by_step.setdefault(asked.step_key, {})[asked.agent_id] = asked
    return [
        StepView(
            step,
            Bar(step.title, step.state, _percent(step.state, step.percent), step.message),
            _node_bars(step, actions_by_step.get(step.key, {})),
        )
        for step in selectors.operation_steps(operation)
    ]


def _state_values(scope: Scope, operation: Operation) -> dict[str, Any]:
    done = round(100 * operation.steps_done / operation.step_count) if operation.step_count else 0
    return {
        "operation": operation,
        "steps": _steps(operation),
        "done_percent": done,
        # The button where the writer would accept the state; the writer still decides (and authorizes).
        "can_cancel": operation.state in CANCELLABLE and scope.has("operation.cancel", operation),
    }


def _clusters() -> dict[str, Any]:
    return {c.id: c for c in cluster_list()}


@page("operation.read", "cluster")
def operation_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = scope.readable("operation.read", "cluster", selectors.operation_list()).order_by("-created_at")  # type: ignore[union-attr]
    state, kind, cluster = request.GET.get("state", ""), request.GET.get("type", ""), request.GET.get("cluster", "")
    if state in STATE_CODES:
        rows = rows.filter(state=state)
    if kind in type_names():
        rows = rows.filter(type=kind)
    if cluster:
        rows = rows.filter(cluster_id=cluster)
    shown = Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))
    clusters = _clusters()
    return render(
        request,
        scope,
        "console/operation_list.html",
        _("Operations"),
        rows=shown,
        operations=[(op, clusters.get(op.cluster_id), OPERATION_TYPES.get(op.type)) for op in shown],
        state=state,
        kind=kind,
        cluster=cluster,
        clusters=sorted(((c.id, c.name) for c in clusters.values()), key=lambda option: option[1]),
        states=[(code, STATES.get(code, code)) for code in STATE_CODES],
        kinds=[(name, OPERATION_TYPES.get(name, name)) for name in type_names()],
    )


@page("operation.read", "cluster")
def operation_detail(request: HttpRequest, scope: Scope, operation_id: str) -> HttpResponse:
    operation = operation_of(scope, operation_id)
    return render(
        request,
        scope,
        "console/operation_detail.html",
        _("Operation"),
        title_note=operation.id[:8],
        cluster=_clusters().get(operation.cluster_id),
        type_label=OPERATION_TYPES.get(operation.type),  # None: a type with no label here, shown as its code
        **_state_values(scope, operation),
    )


@page("operation.read", "cluster")
def operation_state(request: HttpRequest, scope: Scope, operation_id: str) -> HttpResponse:
    """The operation page's live part alone (fetched by console.js)."""
    return TemplateResponse(
        request, "console/operation_state.html", _state_values(scope, operation_of(scope, operation_id))
    )


@action("cancel", "operation")
def cancel_operation(request: HttpRequest, scope: Scope, metadata: Metadata, operation_id: str) -> tuple[str, str]:
    operation = operation_of(scope, operation_id)
    actions.do_cancel_operation(metadata=metadata, operation=operation, reason=request.POST.get("reason", "")[:500])
    return _("Cancel requested."), reverse("admin:console-operation", args=[operation.id])
