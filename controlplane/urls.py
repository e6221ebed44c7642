from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from controlplane.api.urls import schema_urls
from controlplane.console.views import static_file

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("controlplane.api.urls")),
    path("agent/v1/", include("controlplane.agents.agent_api")),
    path("auth/oidc/", include("controlplane.iam.api.oidc")),
    *schema_urls,
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

if settings.SERVE_STATIC:
    # Files `collectstatic` put in STATIC_ROOT (the admin's CSS/JS), without DEBUG: docs/CONFIGURATION.md.
    urlpatterns.append(re_path(rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.*)$", static_file))
