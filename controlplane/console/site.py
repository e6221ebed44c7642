"""The console's admin site: every active member of a tenant may sign in (not only staff), the index is the
dashboard, and the tenant pages (``pages/``) are mounted under ``/admin/console/``. The model pages that cross
tenants stay for platform administrators only (``eventlog.admin.ReadOnlyAdmin``)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib.auth.forms import AuthenticationForm as PlainAuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, reverse
from django.utils.translation import gettext_lazy as _
from unfold.forms import AuthenticationForm
from unfold.sites import UnfoldAdminSite

from controlplane.iam import access


def may_enter(user: access.User) -> bool:
    """A platform administrator, or an active user who can see at least one tenant."""
    if not (user.is_authenticated and user.is_active):
        return False
    return access.is_platform_admin(user) or access.visible_tenants(user).exists()


def is_platform_admin(request: HttpRequest) -> bool:
    """The sidebar's test for platform pages (settings.UNFOLD)."""
    return access.is_platform_admin(request.user)


def only_at(url_name: str) -> Callable[[HttpRequest], bool]:
    """A sidebar entry's ``active`` test for a page whose URL prefixes other pages' URLs: that exact page only
    (unfold lights an entry on every page under its link, so ``/admin/console/`` would be lit everywhere)."""

    def is_open(request: HttpRequest) -> bool:
        return request.path == reverse(url_name)

    return is_open


# settings.UNFOLD names these by their dotted path (the settings cannot import this module)
dashboard_is_open = only_at("admin:console-dashboard")
tenant_is_open = only_at("admin:console-settings")


class ConsoleLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "no_tenant": _("This account is not a member of any tenant. Ask a tenant owner to grant you a role."),
    }

    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        # The admin's form wants is_staff; the console wants a tenant membership instead.
        PlainAuthenticationForm.confirm_login_allowed(self, user)
        if not may_enter(user):
            raise forms.ValidationError(self.error_messages["no_tenant"], code="no_tenant")


class ConsoleSite(UnfoldAdminSite):
    login_form = ConsoleLoginForm
    site_title = _("SeaTunnel Control Plane")
    site_header = _("SeaTunnel Control Plane")
    index_title = _("Dashboard")

    def has_permission(self, request: HttpRequest) -> bool:
        return may_enter(request.user)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:console-dashboard"))

    def extra_urls(self) -> list[URLPattern]:  # UnfoldAdminSite mounts these before the model pages
        from controlplane.console.pages import urls

        return urls.patterns(self)
