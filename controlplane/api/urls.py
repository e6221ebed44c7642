"""``/api/v1/``: every route of the API. Tenant and workspace are path segments, never body fields."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from controlplane.agents.api.views import ActionViewSet, AgentViewSet, BootstrapTokenViewSet
from controlplane.audit.api.views import AuditViewSet, PlatformAuditViewSet
from controlplane.clusters.api.views import CatalogView, ClusterViewSet
from controlplane.iam.api.platform import PlatformTokenViewSet, UserViewSet
from controlplane.iam.api.views import (
    ApiTokenViewSet,
    InvitationAcceptViewSet,
    InvitationViewSet,
    LoginSessionViewSet,
    LoginView,
    LogoutViewSet,
    MemberViewSet,
    ObjectGrantViewSet,
    RefreshView,
    WhoAmIViewSet,
)
from controlplane.jobs.api.runs import JobRunViewSet, RunViewSet
from controlplane.jobs.api.templates import JobTemplateViewSet
from controlplane.jobs.api.views import JobViewSet
from controlplane.operations.api.views import OperationViewSet
from controlplane.secrets.api.views import SecretViewSet
from controlplane.tenancy.api.views import TenantCollectionViewSet, TenantDetailViewSet, WorkspaceViewSet

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}


def collection(viewset, actions=LIST):  # type: ignore[no-untyped-def]
    return viewset.as_view({m: a for m, a in actions.items() if hasattr(viewset, a)})


tenant_routes = [
    path("", TenantDetailViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="tenant-detail"),
    path("quotas/", TenantDetailViewSet.as_view({"put": "quotas"}), name="tenant-quotas"),
    path("disable/", TenantDetailViewSet.as_view({"post": "disable"}), name="tenant-disable"),
    path("enable/", TenantDetailViewSet.as_view({"post": "enable"}), name="tenant-enable"),
    path("workspaces/", collection(WorkspaceViewSet), name="workspace-list"),
    path("workspaces/<slug:slug>/", collection(WorkspaceViewSet, DETAIL), name="workspace-detail"),
    path("members/", collection(MemberViewSet), name="member-list"),
    path("members/<int:pk>/", collection(MemberViewSet, DETAIL), name="member-detail"),
    path("object-grants/", collection(ObjectGrantViewSet), name="object-grant-list"),
    path("object-grants/<int:pk>/", collection(ObjectGrantViewSet, DETAIL), name="object-grant-detail"),
    path("tokens/", collection(ApiTokenViewSet), name="token-list"),
    path("tokens/<str:pk>/", collection(ApiTokenViewSet, DETAIL), name="token-detail"),
    path("invitations/", collection(InvitationViewSet), name="invitation-list"),
    path("invitations/<str:pk>/", collection(InvitationViewSet, DETAIL), name="invitation-detail"),
    path("audit/", collection(AuditViewSet), name="audit-list"),
    path("audit/export/", AuditViewSet.as_view({"get": "export"}), name="audit-export"),
]

workspace_routes = [
    path("jobs/", collection(JobViewSet), name="job-list"),
    path("jobs/<str:pk>/", collection(JobViewSet, DETAIL), name="job-detail"),
    path("jobs/<str:pk>/versions/", JobViewSet.as_view({"get": "versions", "post": "revise"}), name="job-versions"),
    path("jobs/<str:pk>/versions/<int:number>/", JobViewSet.as_view({"get": "version"}), name="job-version"),
    path("jobs/<str:pk>/diff/", JobViewSet.as_view({"get": "diff"}), name="job-diff"),
    path("jobs/<str:pk>/rollback/", JobViewSet.as_view({"post": "rollback"}), name="job-rollback"),
    path("jobs/<str:pk>/runs/", collection(JobRunViewSet), name="job-runs"),
    path(
        "jobs/<str:pk>/schedule/",
        JobViewSet.as_view({"get": "schedule", "put": "set_schedule", "delete": "remove_schedule"}),
        name="job-schedule",
    ),
    path("runs/", collection(RunViewSet), name="run-list"),
    path("runs/<str:pk>/", RunViewSet.as_view({"get": "retrieve"}), name="run-detail"),
    path("runs/<str:pk>/logs/", RunViewSet.as_view({"get": "logs"}), name="run-logs"),
    *[
        path(f"runs/<str:pk>/{verb}/", RunViewSet.as_view({"post": verb}), name=f"run-{verb}")
        for verb in ("stop", "pause", "resume", "cancel", "retry", "reproduce", "resolve")
    ],
    path("operations/", collection(OperationViewSet), name="operation-list"),
    path("operations/plan/", OperationViewSet.as_view({"post": "plan"}), name="operation-plan"),
    path("operations/<str:pk>/", OperationViewSet.as_view({"get": "retrieve"}), name="operation-detail"),
    path("operations/<str:pk>/cancel/", OperationViewSet.as_view({"post": "cancel"}), name="operation-cancel"),
    path("clusters/", collection(ClusterViewSet), name="cluster-list"),
    path("clusters/<str:pk>/", collection(ClusterViewSet, DETAIL), name="cluster-detail"),
    path("clusters/<str:pk>/test/", ClusterViewSet.as_view({"post": "test"}), name="cluster-test"),
    path("clusters/<str:pk>/health/", ClusterViewSet.as_view({"get": "health"}), name="cluster-health"),
    path("clusters/<str:pk>/nodes/", ClusterViewSet.as_view({"get": "nodes"}), name="cluster-nodes"),
    path("clusters/<str:pk>/poll/", ClusterViewSet.as_view({"post": "poll"}), name="cluster-poll"),
    path("clusters/<str:pk>/plugins/", ClusterViewSet.as_view({"get": "plugins"}), name="cluster-plugins"),
    path("job-templates/", JobTemplateViewSet.as_view({"get": "catalogue"}), name="job-template-list"),
    path(
        "job-templates/<str:name>/render/",
        JobTemplateViewSet.as_view({"post": "render"}),
        name="job-template-render",
    ),
    path("agent-bootstrap-tokens/", collection(BootstrapTokenViewSet), name="agent-token-list"),
    path(
        "agent-bootstrap-tokens/<str:pk>/revoke/",
        BootstrapTokenViewSet.as_view({"post": "revoke"}),
        name="agent-token-revoke",
    ),
    path("agents/", collection(AgentViewSet), name="agent-list"),
    path("agents/<str:pk>/", AgentViewSet.as_view({"get": "retrieve"}), name="agent-detail"),
    path("agents/<str:pk>/revoke/", AgentViewSet.as_view({"post": "revoke"}), name="agent-revoke"),
    path(
        "agents/<str:pk>/actions/",
        AgentViewSet.as_view({"get": "actions", "post": "request_action"}),
        name="agent-actions",
    ),
    path("agent-actions/", collection(ActionViewSet), name="agent-action-list"),
    path("agent-actions/<str:pk>/", ActionViewSet.as_view({"get": "retrieve"}), name="agent-action-detail"),
    path("agent-actions/<str:pk>/cancel/", ActionViewSet.as_view({"post": "cancel"}), name="agent-action-cancel"),
    path("secrets/", collection(SecretViewSet), name="secret-list"),
    path(
        "secrets/<str:pk>/",
        collection(SecretViewSet, {"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="secret-detail",
    ),
    path("secrets/<str:pk>/reveal/", SecretViewSet.as_view({"post": "reveal"}), name="secret-reveal"),
]

urlpatterns = [
    path("auth/token/", LoginView.as_view(), name="auth-token"),
    path("auth/token/refresh/", RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", LogoutViewSet.as_view({"post": "create"}), name="auth-logout"),
    path("auth/me/", WhoAmIViewSet.as_view({"get": "retrieve"}), name="auth-me"),
    path("auth/sessions/", LoginSessionViewSet.as_view({"get": "list"}), name="auth-sessions"),
    path(
        "auth/sessions/revoke-all/",
        LoginSessionViewSet.as_view({"post": "revoke_all"}),
        name="auth-sessions-revoke-all",
    ),
    path("auth/sessions/<str:pk>/", LoginSessionViewSet.as_view({"delete": "destroy"}), name="auth-session-detail"),
    path("platform-tokens/", collection(PlatformTokenViewSet), name="platform-token-list"),
    path("platform-tokens/<str:pk>/", collection(PlatformTokenViewSet, DETAIL), name="platform-token-detail"),
    path("users/", collection(UserViewSet), name="user-list"),
    path("invitations/accept/", InvitationAcceptViewSet.as_view({"post": "accept"}), name="invitation-accept"),
    path("audit/", PlatformAuditViewSet.as_view({"get": "list"}), name="platform-audit-list"),
    path("audit/export/", PlatformAuditViewSet.as_view({"get": "export"}), name="platform-audit-export"),
    path("catalog/<str:version>/", CatalogView.as_view({"get": "retrieve"}), name="catalog-detail"),
    path("tenants/", collection(TenantCollectionViewSet), name="tenant-list"),
    path("tenants/<slug:tenant>/", include(tenant_routes)),
    path("tenants/<slug:tenant>/workspaces/<slug:workspace>/", include(workspace_routes)),
]

schema_urls = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
