"""The project's routes plus the console's OIDC sign-in, mounted where docs/AUTHENTICATION.md says."""

from django.urls import include, path

from controlplane.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("auth/oidc/", include("controlplane.iam.api.oidc")), *project_urlpatterns]
