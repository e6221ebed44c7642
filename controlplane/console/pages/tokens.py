"""API tokens: the signed-in user's own personal tokens for the tenant in scope (as ``/api/v1/tenants/<t>/tokens/``:
any member, a token holds its owner's roles on that tenant), create and revoke through the API's writers. A new
token is shown once, in the answer to its creation; the list shows its prefix only."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from controlplane.console.labels import ROLES
from controlplane.console.pages.frame import Scope, action, page, refill, render, shown_once
from controlplane.console.pages.settings import whole_number
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions, selectors
from controlplane.iam.models import ApiToken

EXPIRY_DAYS = (7, 30, 90, 365)


def token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at is not None and token.expires_at <= timezone.now() else "active"


def _tokens(request: HttpRequest, scope: Scope, status: int = 200, **form: object) -> HttpResponse:
    rows = selectors.api_token_list(scope.user.pk, scope.tenant.id)[:200]
    # What a token may do is its owner's roles on this tenant, read at each use: shown beside the list.
    held = selectors.membership_list(scope.tenant.id).filter(user_id=scope.user.pk)
    return render(
        request,
        scope,
        "console/settings_tokens.html",
        _("API tokens"),
        status=status,
        tokens=[(token, token_state(token)) for token in rows],
        held=[(m.workspace, ROLES.get(m.role, m.role)) for m in held],
        expiry_days=EXPIRY_DAYS,
        **form,
    )


@page("tenant.read", tenant_wide=True)
def tokens(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _tokens(request, scope)


@action("create", "api_token", form=refill(_tokens, "token"))
def create_token(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> HttpResponse:
    days = whole_number(request.POST.get("expires_in_days", ""), "expires_in_days")
    if days is not None and not 1 <= days <= 3650:
        raise DomainError("a token lasts 1..3650 days", code="TOKEN_EXPIRY_INVALID", field="expires_in_days")
    token, plaintext = actions.do_create_api_token(
        metadata=metadata,
        tenant=scope.tenant,
        name=request.POST.get("name", ""),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return shown_once(  # the token is in this answer only
        request, scope, "console/settings_token_created.html", _("API token created"), token=token, plaintext=plaintext
    )


@action("revoke", "api_token")
def revoke_token(request: HttpRequest, scope: Scope, metadata: Metadata, token_id: str) -> tuple[str, str]:
    # another's token: not even confirmed to exist
    token = get_object_or_404(selectors.api_token_list(scope.user.pk, scope.tenant.id), id=token_id)
    actions.do_revoke_api_token(metadata=metadata, token=token)
    return _("Token %(name)s revoked.") % {"name": token.name}, reverse("admin:console-tokens")
