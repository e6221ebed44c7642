"""Members and roles: who holds which role on the tenant, a workspace or one object (ADR 0019), the invitations;
grant and revoke a role, invite a new user. The writers are the members, object-grants and invitations API's
(``iam.actions``); ``member.manage`` is a tenant-level point, so the buttons follow the role on the whole tenant.
An invitation's token is shown once, on the answer to the invite (as the API's 201), never again, with the link to
hand over: the invitee's page (``invitation.py``) with the token in the URL's fragment."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from controlplane.clusters.selectors import cluster_list
from controlplane.console.labels import ROLES
from controlplane.console.pages.frame import Scope, action, page, refill, render, shown_once
from controlplane.console.pages.settings import on_tenant, whole_number
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions, selectors
from controlplane.iam.permissions import OBJECT_CODENAMES, OBJECT_ROLE_ORDER
from controlplane.jobs.selectors import job_list
from controlplane.tenancy.models import Workspace

OBJECTS_LISTED = 200  # jobs and clusters offered to a grant (by name)


def _objects() -> dict[str, list[tuple[str, str]]]:
    """The jobs and clusters of the scope a role may be granted on: kind -> [(id, name)] by name."""
    return {
        "job": list(job_list().order_by("name").values_list("id", "name")[:OBJECTS_LISTED]),
        "cluster": list(cluster_list().values_list("id", "name")[:OBJECTS_LISTED]),
    }


def _members(request: HttpRequest, scope: Scope, status: int = 200, **form: object) -> HttpResponse:
    invitations = [(i, selectors.invitation_state(i)) for i in selectors.invitation_list(scope.tenant.id)[:100]]
    objects = _objects()
    names = {object_id: name for rows in objects.values() for object_id, name in rows}
    grants = [
        (g, *OBJECT_CODENAMES[g.permission.codename], names.get(g.object_pk, "")) for g in selectors.object_grant_list()
    ]
    return render(
        request,
        scope,
        "console/settings_members.html",
        _("Members and roles"),
        status=status,
        memberships=list(selectors.membership_list(scope.tenant.id).order_by("user__username", "scope")),
        object_grants=grants,
        invitations=invitations,
        roles=list(ROLES.items()),
        object_roles=[(role, ROLES[role]) for role in OBJECT_ROLE_ORDER],
        objects=objects,
        workspaces=scope.workspaces,
        can_manage=on_tenant(scope, "member.manage"),
        **form,
    )


@page("member.read", tenant_wide=True)
def members(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _members(request, scope)


def _workspace(scope: Scope, workspace_id: str) -> Workspace | None:
    """The form's workspace (blank: the whole tenant), one of this tenant's."""
    if not workspace_id:
        return None
    found = next((w for w in scope.workspaces if w.id == workspace_id), None)
    if found is None:
        raise DomainError("no such workspace in this tenant", code="WORKSPACE_NOT_FOUND", field="workspace")
    return found


def _grantee(request: HttpRequest) -> tuple[str, AbstractBaseUser]:
    """The form's user (by exact name, active), as the members API finds it."""
    username = request.POST.get("username", "").strip()
    user = selectors.active_user_by_name(username)
    if user is None:
        raise DomainError("no active user with this name", code="USER_NOT_FOUND", field="username")
    return username, user


@action("grant", "member", form=refill(_members, "grant"))
def grant_role(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> tuple[str, str]:
    username, user = _grantee(request)
    actions.do_grant_role(
        metadata=metadata,
        user=user,
        tenant=scope.tenant,
        role=request.POST.get("role", ""),
        workspace=_workspace(scope, request.POST.get("workspace", "")),
    )
    return _("Role granted to %(user)s.") % {"user": username}, reverse("admin:console-members")


@action("revoke", "member")
def revoke_role(request: HttpRequest, scope: Scope, metadata: Metadata, membership_id: str) -> tuple[str, str]:
    membership = get_object_or_404(selectors.membership_list(scope.tenant.id), pk=membership_id)
    actions.do_revoke_role(metadata=metadata, membership=membership)
    return _("Role of %(user)s revoked.") % {"user": membership.user.get_username()}, reverse("admin:console-members")


@action("grant", "object_grant", form=refill(_members, "object_grant"))
def grant_object_role(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> tuple[str, str]:
    username, user = _grantee(request)
    kind, _colon, target = request.POST.get("object", "").partition(":")  # "job:<id>" or "cluster:<id>"
    actions.do_grant_object_role(
        metadata=metadata,
        user=user,
        tenant=scope.tenant,
        kind=kind,
        object_id=target,
        role=request.POST.get("role", ""),
    )
    return _("Role granted to %(user)s.") % {"user": username}, reverse("admin:console-members")


@action("revoke", "object_grant")
def revoke_object_role(request: HttpRequest, scope: Scope, metadata: Metadata, grant_id: str) -> tuple[str, str]:
    grant = selectors.object_grant_list().filter(pk=grant_id).first() if grant_id.isdigit() else None
    if grant is None:
        raise Http404
    actions.do_revoke_object_role(metadata=metadata, tenant=scope.tenant, grant=grant)
    return _("Role of %(user)s revoked.") % {"user": grant.user.get_username()}, reverse("admin:console-members")


@action("invite", "invitation", form=refill(_members, "invite"))
def invite_user(request: HttpRequest, scope: Scope, metadata: Metadata, object_id: str) -> HttpResponse:
    invitation, token = actions.do_invite_user(
        metadata=metadata,
        tenant=scope.tenant,
        username=request.POST.get("username", ""),
        role=request.POST.get("role", ""),
        workspace=_workspace(scope, request.POST.get("workspace", "")),
        email=request.POST.get("email", ""),
        expires_in_hours=whole_number(request.POST.get("expires_in_hours", ""), "expires_in_hours"),
    )
    return shown_once(  # the token is in this answer only
        request,
        scope,
        "console/settings_invited.html",
        _("Invitation created"),
        invitation=invitation,
        token=token,
        accept_url=request.build_absolute_uri("/api/v1/invitations/accept/"),
        # the token in the fragment: a browser never sends it, so no access log holds it (docs/LIVE.md)
        invitation_link=f"{request.build_absolute_uri(reverse('admin:console-invitation'))}#{token}",
    )


@action("revoke", "invitation")
def revoke_invitation(request: HttpRequest, scope: Scope, metadata: Metadata, invitation_id: str) -> tuple[str, str]:
    invitation = get_object_or_404(selectors.invitation_list(scope.tenant.id), id=invitation_id)
    actions.do_revoke_invitation(metadata=metadata, invitation=invitation)
    return _("Invitation of %(user)s revoked.") % {"user": invitation.username}, reverse("admin:console-members")
