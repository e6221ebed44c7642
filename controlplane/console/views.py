"""Views of the console that are not admin pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.static import serve


def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """A file collected into STATIC_ROOT, served without DEBUG while CONTROLPLANE_SERVE_STATIC is on."""
    return serve(request, path, document_root=settings.STATIC_ROOT)
