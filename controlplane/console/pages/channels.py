"""Notification channels: the list, a form per kind to create or edit one, and a channel's page with Send test,
Disable/Enable, Delete and its deliveries (Redeliver a dead one). The writers are the API's
(``notifications.actions``). A channel's webhook URL and signing secret are write-only: the pages show them masked
as the API does (``Channel.masked``), an edit leaves one unchanged when its field is left empty, and a refused form
comes back without them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.console.pages.frame import Scope, action, errors_at_fields, page, render
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.notifications import actions, selectors
from controlplane.notifications.domain.aggregate import KINDS, LANGUAGES, SECRETS_OF
from controlplane.notifications.domain.delivery import DeliveryState
from controlplane.notifications.models import Channel

DELIVERY_ROWS = 20
REFRESH_SECONDS = 2  # the deliveries part's refresh while one is on its way (until the fragment says settled)
UNSETTLED = {DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.RETRYING}
SECRET_LABELS = {"webhook_url": gettext_lazy("Webhook URL"), "signing_secret": gettext_lazy("Signing secret")}
FORM_FIELDS = {"name", "kind", "language", "recipients", "webhook_url", "signing_secret"}


def _channels(scope: Scope):  # type: ignore[no-untyped-def]
    return selectors.channel_list(tenant_id=scope.tenant.id, workspace_id=scope.workspace_id)


def _channel(scope: Scope, channel_id: str):  # type: ignore[no-untyped-def]
    return get_object_or_404(_channels(scope), id=channel_id)


@page("alert.read")
def channel_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    channels = list(_channels(scope))
    return render(
        request,
        scope,
        "console/channel_list.html",
        _("Notification channels"),
        channels=channels,
        kinds=KINDS,
        can_create=scope.has("alert.manage"),
    )


def _deliveries(scope: Scope, channel) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rows = list(
        selectors.delivery_list(tenant_id=channel.tenant_id, workspace_id=channel.workspace_id).filter(
            channel_id=channel.id
        )[:DELIVERY_ROWS]
    )
    return {
        "channel": channel,
        "deliveries": rows,
        "settled": not any(d.state in UNSETTLED for d in rows),  # console.js stops the refresh
        "refresh": REFRESH_SECONDS,
        "can_redeliver": scope.has("alert.manage"),
    }


def _channel_form(
    request: HttpRequest,
    scope: Scope,
    values: dict[str, Any],
    errors: dict[str, str],
    channel: Channel | None = None,
    status: int = 200,
) -> HttpResponse:
    kind = channel.kind if channel is not None else values.get("kind", "")
    required, optional = SECRETS_OF.get(kind, ((), ()))
    return render(
        request,
        scope,
        "console/channel_form.html",
        channel.name if channel is not None else _("New notification channel"),
        title_is_name=channel is not None,
        status=status,
        values=values,
        errors=errors,
        kind=kind,
        kinds=KINDS,
        languages=LANGUAGES,
        secret_fields=[
            (name, SECRET_LABELS[name], name in required, errors.get(name, "")) for name in (*required, *optional)
        ],
        masked=[(SECRET_LABELS.get(name, name), shown) for name, shown in channel.masked.items()] if channel else [],
        workspaces=scope.workspaces if channel is None and scope.workspace is None else [],
        can_manage=scope.has("alert.manage"),
        **(_deliveries(scope, channel) if channel is not None else {}),
    )


@page("alert.read")
def channel_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    kind = request.GET.get("kind", "")
    values = {"kind": kind if kind in KINDS else "webhook", "language": "en"}
    return _channel_form(request, scope, values, {})


@page("alert.read")
def channel_detail(request: HttpRequest, scope: Scope, channel_id: str) -> HttpResponse:
    channel = _channel(scope, channel_id)
    values = {"name": channel.name, "language": channel.language, "recipients": "\n".join(channel.recipients)}
    return _channel_form(request, scope, values, {}, channel)


@page("alert.read")
def channel_deliveries(request: HttpRequest, scope: Scope, channel_id: str) -> HttpResponse:
    """The channel page's deliveries alone (console.js fetches it again while one is on its way)."""
    return TemplateResponse(request, "console/channel_deliveries.html", _deliveries(scope, _channel(scope, channel_id)))


def _recipients(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _kept(request: HttpRequest) -> dict[str, str]:
    """What a refused form shows again: everything typed but the secrets."""
    return {k: v for k, v in request.POST.dict().items() if k not in ("webhook_url", "signing_secret")}


def _create_refused(request: HttpRequest, scope: Scope, error: DomainError, object_id: str) -> HttpResponse:
    return _channel_form(request, scope, _kept(request), errors_at_fields(error, FORM_FIELDS), status=400)


def _update_refused(request: HttpRequest, scope: Scope, error: DomainError, channel_id: str) -> HttpResponse:
    channel = _channel(scope, channel_id)
    return _channel_form(request, scope, _kept(request), errors_at_fields(error, FORM_FIELDS), channel, status=400)


@action("create_notification_channel", "notification_channel", form=_create_refused)
def create_channel(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str = "") -> tuple[str, str, str]:
    post = request.POST
    channel_id = actions.do_create_channel(
        metadata=metadata,
        tenant_id=scope.tenant.id,
        workspace_id=scope.workspace_for_new(post.get("workspace", "")),
        name=post.get("name", ""),
        kind=post.get("kind", ""),
        language=post.get("language", "en"),
        recipients=_recipients(post.get("recipients", "")),
        webhook_url=post.get("webhook_url") or None,
        signing_secret=post.get("signing_secret") or None,
    )
    return _("Notification channel created."), reverse("admin:console-channel", args=[channel_id]), channel_id


@action("update_notification_channel", "notification_channel", form=_update_refused)
def update_channel(request: HttpRequest, scope: Scope, metadata: Metadata, channel_id: str) -> tuple[str, str]:
    channel = _channel(scope, channel_id)
    post = request.POST
    changes: dict[str, Any] = {"name": post.get("name", ""), "language": post.get("language", "")}
    if channel.kind == "email":
        changes["recipients"] = _recipients(post.get("recipients", ""))
    for name in ("webhook_url", "signing_secret"):  # empty: unchanged; the box ticked: an optional one removed
        if post.get(name):
            changes[name] = post[name]
        elif post.get(f"remove_{name}"):
            changes[name] = ""
    actions.do_update_channel(metadata=metadata, channel_id=channel.id, changes=changes)
    return _("Notification channel saved."), reverse("admin:console-channel", args=[channel.id])


@action("disable_notification_channel", "notification_channel")
def disable_channel(request: HttpRequest, scope: Scope, metadata: Metadata, channel_id: str) -> tuple[str, str]:
    channel = _channel(scope, channel_id)
    actions.do_disable_channel(metadata=metadata, channel_id=channel.id, reason=request.POST.get("reason", "")[:500])
    return _("Notification channel disabled."), reverse("admin:console-channel", args=[channel.id])


@action("enable_notification_channel", "notification_channel")
def enable_channel(request: HttpRequest, scope: Scope, metadata: Metadata, channel_id: str) -> tuple[str, str]:
    channel = _channel(scope, channel_id)
    actions.do_enable_channel(metadata=metadata, channel_id=channel.id)
    return _("Notification channel enabled."), reverse("admin:console-channel", args=[channel.id])


@action("delete_notification_channel", "notification_channel")
def delete_channel(request: HttpRequest, scope: Scope, metadata: Metadata, channel_id: str) -> tuple[str, str]:
    channel = _channel(scope, channel_id)
    actions.do_delete_channel(metadata=metadata, channel_id=channel.id)
    return _("Notification channel deleted."), reverse("admin:console-channels")


@action("test_notification_channel", "notification_channel")
def send_test(request: HttpRequest, scope: Scope, metadata: Metadata, channel_id: str) -> tuple[str, str]:
    channel = _channel(scope, channel_id)
    delivery_id = actions.do_send_test_notification(metadata=metadata, channel_id=channel.id)
    url = reverse("admin:console-channel", args=[channel.id])
    return _("Test notice queued: delivery %(delivery)s.") % {
        "delivery": delivery_id[:8]
    }, f"{url}#delivery-{delivery_id}"


@action("redeliver_notification", "notification_delivery")
def redeliver(request: HttpRequest, scope: Scope, metadata: Metadata, delivery_id: str) -> tuple[str, str]:
    delivery = get_object_or_404(
        selectors.delivery_list(tenant_id=scope.tenant.id, workspace_id=scope.workspace_id), id=delivery_id
    )
    actions.do_redeliver_notification(metadata=metadata, delivery_id=delivery.id)
    return _("Delivery %(delivery)s queued again.") % {"delivery": delivery.id[:8]}, reverse(
        "admin:console-channel", args=[delivery.channel_id]
    )
