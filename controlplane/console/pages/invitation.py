"""The invitee's page, ``/admin/console/invitation/``: open without a login, it takes the invitation's token, the
new password and the password again, and calls the one writer the API's accept calls
(``iam.actions.do_accept_invitation``: it checks the token and the password policy, creates the user and grants
the invited role).

The owner hands over ``<site>/admin/console/invitation/#<token>`` (``members.invite_user``): the token rides in
the URL's fragment, which the browser never sends, so it lands in no access log (docs/LIVE.md); ``console.js``
moves it into the token field and takes it out of the address bar. Without a script it is pasted.

Not a ``frame.action``: that needs a signed-in member and a tenant in the session, and the invitee has neither.
The press is audited here as the API's accept is (``AuditedViewSet``): resource type ``invitation``, an anonymous
actor, ``ok`` on the invitation's tenant's trail naming the invitation, ``failed`` with the error code on the
platform trail (a refused token names no tenant). The answer tells nothing about a token but the writer's own
error; the token goes back only as its (password-type) field's value, the passwords never."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from unfold.widgets import BASE_INPUT_CLASSES

from controlplane.audit.recorder import record_request
from controlplane.console.labels import ROLES
from controlplane.errors import DomainError
from controlplane.iam import actions

ANONYMOUS = ("anonymous", "")  # as the API's accept, which authenticates no one: a signed-in visitor acts as none
INPUT = " ".join(BASE_INPUT_CLASSES)  # unfold's login form's inputs


class AcceptForm(forms.Form):
    """The page's fields, drawn as unfold's login form draws its own. Its checks are the API serializer's (present,
    not too long) and the two passwords being one; the token and the password policy are the writer's."""

    token = forms.CharField(
        label=gettext_lazy("Invitation token"),
        max_length=200,
        # the token is typed back into its field after a refusal, nowhere else on the page
        widget=forms.PasswordInput(
            render_value=True, attrs={"class": INPUT, "autocomplete": "off", "data-invitation-token": ""}
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("New password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"class": INPUT, "autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=gettext_lazy("New password again"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"class": INPUT, "autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, again = cleaned.get("password"), cleaned.get("password_again")
        if first is not None and again is not None and first != again:
            self.add_error("password_again", _("The two passwords differ: type the same password twice."))
        return cleaned


def _refusal(error: DomainError) -> tuple[str | None, list[str]]:
    """The field a writer's refusal belongs at (None: above the form) and what the invitee reads there."""
    if error.code == "INVITATION_INVALID":
        return "token", [_("This invitation is unknown, used, revoked or expired. Ask for a new one.")]
    if error.code == "PASSWORD_INVALID":  # the validators' reasons are in the request's language already
        return "password", [_("This password is too weak:"), *map(str, error.details.get("reasons", []))]
    if error.code == "USER_EXISTS":
        return None, [_("A user with the invited name exists now. Ask for a new invitation.")]
    return None, [str(error)]


def _page(request: HttpRequest, form: AcceptForm, status: int = 200) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": _("Accept the invitation"), "form": form}
    return TemplateResponse(request, "console/invitation.html", context, status=status)


@never_cache  # a refused POST's answer holds the token in its field
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def accept_invitation(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, AcceptForm())
    form = AcceptForm(request.POST)
    audit: dict[str, Any] = {"action": "console.accept", "resource_type": "invitation", "actor": ANONYMOUS}
    if not form.is_valid():  # refused before the writer, as the API's serializer refuses its input
        record_request(request, result="failed", error_code="VALIDATION_FAILED", **audit)
        return _page(request, form, status=400)
    try:
        invitation, user = actions.do_accept_invitation(
            token=form.cleaned_data["token"], password=form.cleaned_data["password"]
        )
    except DomainError as exc:
        record_request(request, result="failed", error_code=exc.code, **audit)
        field, texts = _refusal(exc)
        form.add_error(field, texts)
        return _page(request, form, status=400)
    record_request(request, result="ok", resource_id=invitation.id, tenant_id=invitation.tenant_id, **audit)
    place = {"user": user.get_username(), "role": ROLES.get(invitation.role, invitation.role)}
    place["tenant"] = invitation.tenant.name
    if invitation.workspace_id:
        place["workspace"] = invitation.workspace.name
        text = _(
            "Your account is ready. Sign in with the user name %(user)s and your new password: you are %(role)s "
            "in the workspace %(workspace)s of the tenant %(tenant)s."
        )
    else:
        text = _(
            "Your account is ready. Sign in with the user name %(user)s and your new password: you are %(role)s "
            "in the tenant %(tenant)s."
        )
    messages.success(request, text % place)
    return HttpResponseRedirect(reverse("admin:login"))
