"""The URL root. Each app with an HTTP surface owns its routes (``<app>/api/urls.py``); this module mounts
them: platform routes under ``/api/v1/``, a tenant's under ``tenants/<tenant>/``, a workspace's under
``tenants/<tenant>/workspaces/<workspace>/``. Tenant and workspace are path segments, never body fields."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from controlplane.agents.api import urls as agents
from controlplane.alerts.api import urls as alerts
from controlplane.audit.api import urls as audit
from controlplane.clusters.api import urls as clusters
from controlplane.console.views import static_file
from controlplane.diagnostics.api import urls as diagnostics
from controlplane.iam.api import urls as iam
from controlplane.jobs.api import urls as jobs
from controlplane.notifications.api import urls as notifications
from controlplane.operations.api import urls as operations
from controlplane.secrets.api import urls as secrets
from controlplane.tenancy.api import urls as tenancy

tenant_routes = [*tenancy.tenant_urlpatterns, *iam.tenant_urlpatterns, *audit.tenant_urlpatterns]

workspace_routes = [
    *jobs.workspace_urlpatterns,
    *operations.workspace_urlpatterns,
    *clusters.workspace_urlpatterns,
    *agents.workspace_urlpatterns,
    *secrets.workspace_urlpatterns,
    *diagnostics.workspace_urlpatterns,
    *alerts.workspace_urlpatterns,
    *notifications.workspace_urlpatterns,
]

api_routes = [
    *iam.urlpatterns,
    *audit.urlpatterns,
    *clusters.urlpatterns,
    *tenancy.urlpatterns,
    path("tenants/<slug:tenant>/", include(tenant_routes)),
    path("tenants/<slug:tenant>/workspaces/<slug:workspace>/", include(workspace_routes)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the console's language switch
    path("api/v1/", include(api_routes)),
    path("agent/v1/", include("controlplane.agents.agent_api")),
    path("auth/oidc/", include("controlplane.iam.api.oidc")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

if settings.SERVE_STATIC:
    # Files `collectstatic` put in STATIC_ROOT (the admin's CSS/JS), without DEBUG: docs/CONFIGURATION.md.
    urlpatterns.append(re_path(rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.*)$", static_file))
