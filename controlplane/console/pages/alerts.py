"""Alerts: the list (firing or resolved, the API's filters), an alert's page (labels, muting, its history) with
Acknowledge (``do_acknowledge_alert``) and Silence, the silence form (matchers prefilled from an alert's labels, a
window given by its end or a duration: ``do_create_silence``) and the silences with End now (``do_end_silence``).
The silence form's matchers table (``matcher_rows``, ``posted_matchers``) is the rule form's too.
The writers are the API's; a writer's refusal of a silence comes back on the form with the input kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.alerts import actions, selectors
from controlplane.alerts.api.filters import AlertFilter
from controlplane.alerts.api.serializers import SILENCE_STATUSES
from controlplane.alerts.domain.rules import SEVERITIES
from controlplane.console.labels import STATES
from controlplane.console.pages.frame import Scope, action, errors_at_fields, page, render
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.notifications.selectors import channel_list

PAGE_ROWS = 50
FILTERS = ("state", "severity", "silenced", "inhibited", "acknowledged", "rule", "cluster", "source")
MATCHER_OPS = ("=", "!=", "=~", "!~")
SPARE_ROWS = 2  # empty rows under the prefilled ones (matchers, a rule's labels): room to add some
DURATIONS = {  # hours -> label; the silence form's window when no end is given
    "1": gettext_lazy("1 hour"),
    "2": gettext_lazy("2 hours"),
    "4": gettext_lazy("4 hours"),
    "8": gettext_lazy("8 hours"),
    "24": gettext_lazy("1 day"),
    "72": gettext_lazy("3 days"),
    "168": gettext_lazy("1 week"),
}
HISTORY = {
    "alerts.alert_fired": gettext_lazy("Fired"),
    "alerts.alert_resolved": gettext_lazy("Resolved"),
    "alerts.alert_acknowledged": gettext_lazy("Acknowledged"),
    "alerts.alert_suppression_changed": gettext_lazy("Muting changed"),
    "alerts.alert_reminded": gettext_lazy("Reminder"),
}
# What each history line shows of its event beside the time and the actor.
HISTORY_DETAILS = ("episode", "reason", "comment", "silenced_by", "inhibited_by")


def _alert(alert_id: str):  # type: ignore[no-untyped-def]
    return get_object_or_404(selectors.alert_list(), id=alert_id)


def _alert_rows(request: HttpRequest) -> dict[str, Any]:
    """The filtered, paged alerts of the list page and of its live part (the same query string)."""
    query = {k: v for k, v in request.GET.items() if k in FILTERS and v}
    query.setdefault("state", "firing")  # the firing tab first
    if query["state"] == "all":
        del query["state"]
    found = AlertFilter(query, queryset=selectors.alert_list())
    rows = found.qs if found.is_valid() else selectors.alert_list().none()
    return {
        "alerts": Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page")),
        "state": query.get("state", "all"),
        "severity": query.get("severity", ""),
        "muted": request.GET.get("silenced", ""),
        "errors": None if found.is_valid() else found.errors,
    }


@page("alert.read")
def alert_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(
        request,
        scope,
        "console/alert_list.html",
        _("Alerts"),
        severities=[(code, STATES[code]) for code in SEVERITIES],
        query=request.GET.urlencode(),
        **_alert_rows(request),
    )


@page("alert.read")
def alert_rows(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The list's table alone, fetched by console.js on each event of the tenant's activity feed (an alert firing,
    resolving, acknowledged or silenced, docs/LIVE.md)."""
    return TemplateResponse(request, "console/alert_rows.html", _alert_rows(request))


@page("alert.read")
def alert_detail(request: HttpRequest, scope: Scope, alert_id: str) -> HttpResponse:
    alert = _alert(alert_id)
    history = [
        (
            event,
            HISTORY.get(event.event_type, event.event_type),
            {k: event.payload[k] for k in HISTORY_DETAILS if event.payload.get(k)},
        )
        for event in selectors.alert_history(alert)
    ]
    channels = channel_list(tenant_id=alert.tenant_id, workspace_id=alert.workspace_id).filter(id__in=alert.channel_ids)
    may_manage = scope.has("alert.manage")
    return render(
        request,
        scope,
        "console/alert_detail.html",
        alert.rule_name,
        title_is_name=True,
        alert=alert,
        rule=selectors.rule_list().filter(id=alert.rule_id).first() if alert.rule_id else None,
        channels=list(channels),
        history=history,
        can_acknowledge=may_manage and alert.status == "firing" and not alert.acknowledged,
        can_silence=may_manage,
    )


@action("acknowledge", "alert")
def acknowledge_alert(request: HttpRequest, scope: Scope, metadata: Metadata, alert_id: str) -> tuple[str, str]:
    alert = _alert(alert_id)
    actions.do_acknowledge_alert(
        metadata=metadata,
        tenant_id=alert.tenant_id,
        workspace_id=alert.workspace_id,
        fingerprint=alert.id,
        comment=request.POST.get("comment", ""),
    )
    return _("Alert acknowledged."), reverse("admin:console-alert", args=[alert.id])


# -- silences ---------------------------------------------------------------------------------------------------
@page("alert.read")
def silence_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    status = request.GET.get("status", "active")
    rows = selectors.silence_list()
    if status in SILENCE_STATUSES:
        rows = rows.filter(status=status)
    silences = Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))
    return render(
        request,
        scope,
        "console/silence_list.html",
        _("Silences"),
        silences=silences,
        shown=status,
        statuses=[(code, STATES[code]) for code in SILENCE_STATUSES],
        can_manage=scope.has("alert.manage"),
    )


def _silence_form(
    request: HttpRequest,
    scope: Scope,
    values: dict[str, Any],
    matchers: list[dict],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    alert = selectors.alert_list().filter(id=values.get("alert", "")).first()
    return render(
        request,
        scope,
        "console/silence_form.html",
        _("New silence"),
        status=status,
        values=values,
        matchers=matcher_rows(matchers),
        ops=MATCHER_OPS,
        durations=list(DURATIONS.items()),
        alert=alert,
        errors=errors,
        workspaces=[] if scope.workspace is not None or alert is not None else scope.workspaces,
    )


@page("alert.read")
def silence_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The form; from an alert (``?alert=<id>``) its labels are the matchers and its workspace the silence's."""
    alert = selectors.alert_list().filter(id=request.GET.get("alert", "")).first()
    labels = sorted(alert.labels.items()) if alert is not None else []
    values = {"alert": alert.id if alert else "", "workspace": alert.workspace_id if alert else "", "duration": "2"}
    matchers = [{"name": name, "op": "=", "value": value} for name, value in labels]
    return _silence_form(request, scope, values, matchers, {})


def matcher_rows(matchers: list[dict]) -> list[dict]:
    """The rows of a matchers table (``console/matcher_rows.html``, the silence's and the rule's): those given and
    ``SPARE_ROWS`` empty ones."""
    return matchers + [{"name": "", "op": "=", "value": ""}] * SPARE_ROWS


def posted_matchers(post: QueryDict) -> list[dict]:
    """The matchers of a posted matchers table; a row with no label is left out."""
    names, ops, values = (post.getlist(k) for k in ("matcher_name", "matcher_op", "matcher_value"))
    return [{"name": n.strip(), "op": o, "value": v} for n, o, v in zip(names, ops, values, strict=False) if n.strip()]


def _moment(text: str) -> str:
    """A ``datetime-local`` value (no offset) is in the user's time zone (the console's); what does not parse goes
    to the writer as typed, which names the field it refuses."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment.isoformat()


def silence_fields(post: dict[str, str], matchers: list[dict]) -> dict[str, Any]:
    """The writer's fields from the form: the end, or the start (now if none) plus the duration chosen."""
    fields: dict[str, Any] = {"matchers": matchers, "reason": post.get("reason", "")}
    if post.get("starts_at"):
        fields["starts_at"] = _moment(post["starts_at"])
    if post.get("ends_at"):
        fields["ends_at"] = _moment(post["ends_at"])
    elif post.get("duration") in DURATIONS:
        try:
            start = datetime.fromisoformat(fields["starts_at"]) if "starts_at" in fields else timezone.now()
        except ValueError:
            return fields  # the writer refuses the start (and names it)
        fields["ends_at"] = (start + timedelta(hours=int(post["duration"]))).isoformat()
    return fields


def _silence_refused(request: HttpRequest, scope: Scope, error: DomainError, object_id: str) -> HttpResponse:
    errors = errors_at_fields(error, ("matchers", "starts_at", "ends_at", "reason"))
    return _silence_form(request, scope, request.POST.dict(), posted_matchers(request.POST), errors, status=400)


@action("silence", "silence", form=_silence_refused)
def create_silence(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str = "") -> tuple[str, str, str]:
    alert = selectors.alert_list().filter(id=request.POST.get("alert", "")).first()
    workspace_id = (
        alert.workspace_id if alert is not None else scope.workspace_for_new(request.POST.get("workspace", ""))
    )
    fields = silence_fields(request.POST.dict(), posted_matchers(request.POST))
    silence_id = actions.do_create_silence(
        metadata=metadata, tenant_id=scope.tenant.id, workspace_id=workspace_id, fields=fields
    )
    target = reverse("admin:console-alert", args=[alert.id]) if alert is not None else reverse("admin:console-silences")
    return _("Silence %(silence)s created.") % {"silence": silence_id[:8]}, target, silence_id


@action("end_silence", "silence")
def end_silence(request: HttpRequest, scope: Scope, metadata: Metadata, silence_id: str) -> tuple[str, str]:
    silence = get_object_or_404(selectors.silence_list(), id=silence_id)
    actions.do_end_silence(
        metadata=metadata, tenant_id=silence.tenant_id, workspace_id=silence.workspace_id, silence_id=silence.id
    )
    return _("Silence %(silence)s ended.") % {"silence": silence.id[:8]}, reverse("admin:console-silences")
