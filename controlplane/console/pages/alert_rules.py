"""Alert rules: the list with Enable/Disable and Delete, and one form per kind to create or edit a rule
(``do_create_rule``, ``do_update_rule``, ``do_delete_rule``: the API's writers). The kind's parameters are one input
each, typed as the kind declares them (``alerts.domain.rules.PARAMETERS``); the matchers are the silence form's
table (``alerts.matcher_rows``), the labels rows of name and value. The writer validates; its refusal comes back at
the field it names (``details.field``: ``params.seconds`` at that parameter), the input kept."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.alerts import actions, selectors
from controlplane.alerts.domain.rules import (
    DEFAULT_REPEAT_SECONDS,
    EVENT_KINDS,
    KINDS,
    PARAMETERS,
    SEVERITIES,
    Parameter,
)
from controlplane.alerts.models import AlertRule
from controlplane.console.labels import STATES
from controlplane.console.pages.alerts import MATCHER_OPS, SPARE_ROWS, matcher_rows, posted_matchers
from controlplane.console.pages.frame import Scope, action, errors_at_fields, page, render
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.notifications.selectors import channel_list

# (kind, parameter) -> the field's label and help (docs/ALERTS.md says what each parameter does).
PARAM_TEXTS = {
    ("run_stuck", "states"): (
        gettext_lazy("States"),
        gettext_lazy("The run states watched."),
    ),
    ("run_stuck", "seconds"): (
        gettext_lazy("Longer than (seconds)"),
        gettext_lazy("Fires for a run in one of the states whose last change is older than this."),
    ),
    ("no_progress", "seconds"): (
        gettext_lazy("Unmoved for (seconds)"),
        gettext_lazy("Fires for a running run whose engine count has not moved for this long."),
    ),
    ("no_progress", "metric"): (
        gettext_lazy("Count"),
        gettext_lazy("The engine's count watched: records read from the source, or written to the sink."),
    ),
    ("low_throughput", "below"): (
        gettext_lazy("Below (records per second)"),
        gettext_lazy(
            "Fires for a running run whose engine rate is below this (above 0); the hold time below lets dips pass."
        ),
    ),
    ("low_throughput", "metric"): (
        gettext_lazy("Rate"),
        gettext_lazy("The engine's rate watched: records read from the source, or written to the sink, per second."),
    ),
    ("threshold", "quantity"): (
        gettext_lazy("Quantity"),
        gettext_lazy("One of the control plane's own quantities, computed per workspace."),
    ),
    ("threshold", "op"): (
        gettext_lazy("Comparison"),
        gettext_lazy("Fires for each value of the quantity that compares true with the value below."),
    ),
    ("threshold", "value"): (
        gettext_lazy("Value"),
        gettext_lazy("The number the quantity is compared with."),
    ),
    ("threshold", "window_seconds"): (
        gettext_lazy("Window (seconds)"),
        gettext_lazy(
            "For a quantity that counts (failed operations, failed runs): what happened within this long. "
            "Empty for the heartbeat age."
        ),
    ),
}
NUMBER_FIELDS = ("for_seconds", "repeat_interval_seconds", "resolve_after_seconds")
FORM_FIELDS = {
    *("name", "kind", "severity", "params", "matchers", "labels", "group_by", "channel_ids", *NUMBER_FIELDS),
    *(f"params.{p.name}" for params in PARAMETERS.values() for p in params),
}


def _rule(rule_id: str):  # type: ignore[no-untyped-def]
    return get_object_or_404(selectors.rule_list(), id=rule_id)


@page("alert.read")
def rule_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    rules = list(selectors.rule_list())
    firing = dict(
        selectors.alert_list()
        .filter(status="firing", rule_id__in=[r.id for r in rules])
        .values("rule_id")
        .annotate(n=Count("id"))
        .values_list("rule_id", "n")
    )
    return render(
        request,
        scope,
        "console/rule_list.html",
        _("Alert rules"),
        rules=[(rule, firing.get(rule.id, 0)) for rule in rules],
        can_manage=scope.has("alert.manage"),
    )


def _shown(value: Any) -> str | list[str]:
    """A parameter's value as its input holds it (a whole float without its ``.0``)."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _form_values(rule: AlertRule) -> dict[str, Any]:
    """A rule as the form shows it."""
    return {
        "name": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "params": {name: _shown(value) for name, value in rule.params.items()},
        "matchers": rule.matchers,
        "labels": sorted(rule.labels.items()),
        "group_by": ", ".join(rule.group_by),
        **{name: str(getattr(rule, name)) for name in NUMBER_FIELDS},
    }


def _param_fields(kind: str, shown: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """The kind's parameter inputs: each with its label, help, value and the writer's refusal of it."""
    return [
        {
            "name": p.name,
            "type": p.type,
            "choices": p.choices,
            "required": p.required,
            "label": PARAM_TEXTS[kind, p.name][0],
            "help": PARAM_TEXTS[kind, p.name][1],
            "value": shown.get(p.name, [] if p.type == "choices" else ""),
            "error": errors.get(f"params.{p.name}", ""),
        }
        for p in PARAMETERS.get(kind, ())
    ]


def _rule_form(
    request: HttpRequest,
    scope: Scope,
    values: dict[str, Any],
    errors: dict[str, str],
    rule: AlertRule | None = None,
    status: int = 200,
) -> HttpResponse:
    kind = values.get("kind", "")
    workspace_id = rule.workspace_id if rule is not None else scope.workspace_id
    channels = channel_list(tenant_id=scope.tenant.id, workspace_id=workspace_id)
    chosen = values.get("channel_ids") if "channel_ids" in values else (rule.channel_ids if rule is not None else [])
    return render(
        request,
        scope,
        "console/rule_form.html",
        rule.name if rule is not None else _("New alert rule"),
        title_is_name=rule is not None,
        status=status,
        rule=rule,
        values=values,
        errors=errors,
        kind=kind,
        kinds=KINDS,
        params=_param_fields(kind, values.get("params", {}), errors),
        matchers=matcher_rows(values.get("matchers", [])),
        ops=MATCHER_OPS,
        labels=values.get("labels", []) + [("", "")] * SPARE_ROWS,
        time_kind=kind not in EVENT_KINDS,
        severities=[(code, STATES[code]) for code in SEVERITIES],
        channels=list(channels),
        chosen=set(chosen or []),
        workspaces=scope.workspaces if rule is None and scope.workspace is None else [],
        can_manage=scope.has("alert.manage"),
        firing=list(selectors.alert_list().filter(rule_id=rule.id, status="firing")[:20]) if rule is not None else [],
    )


def _first(p: Parameter) -> Any:
    """What a new rule's form shows for a parameter: its default, else the documented example."""
    return p.default if p.default is not None else p.example


@page("alert.read")
def rule_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The form of the kind chosen (``?kind=``): its parameters prefilled with their defaults or examples."""
    kind = request.GET.get("kind", "run_failed")
    kind = kind if kind in KINDS else "run_failed"
    values = {
        "kind": kind,
        "severity": "warning",
        "params": {p.name: _shown(_first(p)) for p in PARAMETERS.get(kind, ())},
        "group_by": "cluster",
        "for_seconds": "0",
        "repeat_interval_seconds": str(DEFAULT_REPEAT_SECONDS),
        "resolve_after_seconds": "0",
    }
    return _rule_form(request, scope, values, {})


@page("alert.read")
def rule_detail(request: HttpRequest, scope: Scope, rule_id: str) -> HttpResponse:
    rule = _rule(rule_id)
    return _rule_form(request, scope, _form_values(rule), {}, rule)


def _number(text: str, *, whole: bool) -> object:
    """The number typed; else the text as typed, which the writer refuses at its field."""
    for parse in (int,) if whole else (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def _posted_params(post: QueryDict, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The kind's parameters from their inputs (``param:<name>``; an empty one left out: the writer's default or
    its refusal), and the inputs as typed (what a refused form shows again)."""
    params: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    for p in PARAMETERS.get(kind, ()):
        key = f"param:{p.name}"
        if p.type == "choices":  # none ticked is an empty list, which the writer refuses
            params[p.name] = typed[p.name] = post.getlist(key)
            continue
        typed[p.name] = text = post.get(key, "").strip()
        if text:
            params[p.name] = text if p.type == "choice" else _number(text, whole=p.type == "seconds")
    return params, typed


def _posted_labels(post: QueryDict) -> list[tuple[str, str]]:
    """The label rows; a row with no name is left out."""
    names, values = post.getlist("label_name"), post.getlist("label_value")
    return [(n.strip(), v) for n, v in zip(names, values, strict=False) if n.strip()]


def rule_fields(post: QueryDict, kind: str) -> dict[str, Any]:
    """The writer's fields from the form (empty number fields left out: the writer's defaults). A label named twice
    keeps its last row's value."""
    fields: dict[str, Any] = {
        "name": post.get("name", "").strip(),
        "severity": post.get("severity", ""),
        "matchers": posted_matchers(post),
        "labels": dict(_posted_labels(post)),
    }
    if kind in PARAMETERS:
        fields["params"] = _posted_params(post, kind)[0]
    for name in NUMBER_FIELDS:
        if post.get(name, "").strip():
            fields[name] = _number(post[name].strip(), whole=True)
    fields["group_by"] = [label.strip() for label in post.get("group_by", "").split(",") if label.strip()]
    fields["channel_ids"] = post.getlist("channel_ids")
    return fields


def _posted_values(request: HttpRequest, kind: str) -> dict[str, Any]:
    """What a refused form shows again: everything as typed."""
    post = request.POST
    return {
        **post.dict(),
        "kind": kind,
        "params": _posted_params(post, kind)[1],
        "matchers": posted_matchers(post),
        "labels": _posted_labels(post),
        "channel_ids": post.getlist("channel_ids"),
    }


def _create_refused(request: HttpRequest, scope: Scope, error: DomainError, object_id: str) -> HttpResponse:
    values = _posted_values(request, request.POST.get("kind", ""))
    return _rule_form(request, scope, values, errors_at_fields(error, FORM_FIELDS), status=400)


def _update_refused(request: HttpRequest, scope: Scope, error: DomainError, rule_id: str) -> HttpResponse:
    rule = _rule(rule_id)
    errors = errors_at_fields(error, FORM_FIELDS)
    return _rule_form(request, scope, _posted_values(request, rule.kind), errors, rule, status=400)


@action("create_alert_rule", "alert_rule", form=_create_refused)
def create_rule(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str = "") -> tuple[str, str, str]:
    kind = request.POST.get("kind", "")
    rule_id = actions.do_create_rule(
        metadata=metadata,
        tenant_id=scope.tenant.id,
        workspace_id=scope.workspace_for_new(request.POST.get("workspace", "")),
        fields={"kind": kind, **rule_fields(request.POST, kind)},
    )
    return _("Alert rule created."), reverse("admin:console-alert-rule", args=[rule_id]), rule_id


@action("update_alert_rule", "alert_rule", form=_update_refused)
def update_rule(request: HttpRequest, scope: Scope, metadata: Metadata, rule_id: str) -> tuple[str, str]:
    rule = _rule(rule_id)
    actions.do_update_rule(
        metadata=metadata,
        tenant_id=rule.tenant_id,
        workspace_id=rule.workspace_id,
        rule_id=rule.id,
        fields=rule_fields(request.POST, rule.kind),
    )
    return _("Alert rule saved."), reverse("admin:console-alert-rule", args=[rule.id])


def _set_enabled(metadata: Metadata, rule_id: str, enabled: bool) -> None:
    rule = _rule(rule_id)
    actions.do_update_rule(
        metadata=metadata,
        tenant_id=rule.tenant_id,
        workspace_id=rule.workspace_id,
        rule_id=rule.id,
        fields={"enabled": enabled},
    )


@action("enable_alert_rule", "alert_rule")
def enable_rule(request: HttpRequest, scope: Scope, metadata: Metadata, rule_id: str) -> tuple[str, str]:
    _set_enabled(metadata, rule_id, True)
    return _("Alert rule enabled."), reverse("admin:console-alert-rules")


@action("disable_alert_rule", "alert_rule")
def disable_rule(request: HttpRequest, scope: Scope, metadata: Metadata, rule_id: str) -> tuple[str, str]:
    _set_enabled(metadata, rule_id, False)
    return _("Alert rule disabled: its firing alerts resolve."), reverse("admin:console-alert-rules")


@action("delete_alert_rule", "alert_rule")
def delete_rule(request: HttpRequest, scope: Scope, metadata: Metadata, rule_id: str) -> tuple[str, str]:
    rule = _rule(rule_id)
    actions.do_delete_rule(metadata=metadata, tenant_id=rule.tenant_id, workspace_id=rule.workspace_id, rule_id=rule.id)
    return _("Alert rule deleted: its firing alerts resolve."), reverse("admin:console-alert-rules")
