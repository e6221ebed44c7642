"""Alert rules: the list with Enable/Disable and Delete, and one form per kind to create or edit a rule
(``do_create_rule``, ``do_update_rule``, ``do_delete_rule``: the API's writers). The kind's parameters, the
matchers and the labels are JSON fields; the writer validates them and its refusal comes back at the field it names
(``details.field``), the input kept."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from controlplane.alerts import actions, selectors
from controlplane.alerts.domain.rules import DEFAULT_REPEAT_SECONDS, EVENT_KINDS, KINDS, SEVERITIES
from controlplane.alerts.models import AlertRule
from controlplane.console.labels import STATES
from controlplane.console.pages.frame import Scope, action, errors_at_fields, page, render
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.notifications.selectors import channel_list

# Each kind's parameters as the form first shows them (docs/ALERTS.md); a kind missing here takes none.
PARAMS = {
    "run_stuck": {"states": ["SUBMITTING", "STOPPING"], "seconds": 600},
    "no_progress": {"seconds": 600, "metric": "SinkWriteCount"},
    "low_throughput": {"below": 100, "metric": "SourceReceivedQPS"},
    "threshold": {"quantity": "agent_heartbeat_age_seconds", "op": ">", "value": 120},
}
JSON_FIELDS = ("params", "matchers", "labels")
NUMBER_FIELDS = ("for_seconds", "repeat_interval_seconds", "resolve_after_seconds")
FORM_FIELDS = {"name", "kind", "severity", "group_by", "channel_ids", *JSON_FIELDS, *NUMBER_FIELDS}


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


def _form_values(rule: AlertRule) -> dict[str, str]:
    """A rule as the form shows it (JSON fields as JSON text)."""
    return {
        "name": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "params": json.dumps(rule.params),
        "matchers": json.dumps(rule.matchers),
        "labels": json.dumps(rule.labels),
        "group_by": ", ".join(rule.group_by),
        **{name: str(getattr(rule, name)) for name in NUMBER_FIELDS},
    }


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
        takes_params=kind in PARAMS,
        time_kind=kind not in EVENT_KINDS,
        severities=[(code, STATES[code]) for code in SEVERITIES],
        channels=list(channels),
        chosen=set(chosen or []),
        workspaces=scope.workspaces if rule is None and scope.workspace is None else [],
        can_manage=scope.has("alert.manage"),
        firing=list(selectors.alert_list().filter(rule_id=rule.id, status="firing")[:20]) if rule is not None else [],
    )


@page("alert.read")
def rule_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The form of the kind chosen (``?kind=``): its parameters prefilled with the documented example."""
    kind = request.GET.get("kind", "run_failed")
    kind = kind if kind in KINDS else "run_failed"
    values = {
        "kind": kind,
        "severity": "warning",
        "params": json.dumps(PARAMS.get(kind, {})),
        "matchers": "[]",
        "labels": "{}",
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


def _parsed(text: str) -> object:
    """JSON when it parses; else the text as typed, which the writer refuses at its field."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _number(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        return text


def rule_fields(post: Any, kind: str) -> dict[str, Any]:
    """The writer's fields from the form (empty fields left out: the writer's defaults)."""
    fields: dict[str, Any] = {"name": post.get("name", "").strip(), "severity": post.get("severity", "")}
    for name in JSON_FIELDS:
        if post.get(name, "").strip() and (name != "params" or kind in PARAMS):
            fields[name] = _parsed(post[name])
    for name in NUMBER_FIELDS:
        if post.get(name, "").strip():
            fields[name] = _number(post[name].strip())
    fields["group_by"] = [label.strip() for label in post.get("group_by", "").split(",") if label.strip()]
    fields["channel_ids"] = post.getlist("channel_ids")
    return fields


def _posted_values(request: HttpRequest, kind: str) -> dict[str, Any]:
    return {**request.POST.dict(), "kind": kind, "channel_ids": request.POST.getlist("channel_ids")}


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
