"""Every write through the console (the Django admin) leaves one audit record, like every API write.

Logins are recorded by the login signals (controlplane/iam/signals.py); everything else that is not a
safe method under /admin/ is recorded here with its outcome: ok (2xx or a redirect after success),
denied (403), failed (anything else).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from controlplane.audit.recorder import record_request

_ADMIN = re.compile(
    r"^/admin/(?:(?P<app>[\w-]+)/(?P<model>[\w-]+)/(?:(?P<id>[^/]+)/)?(?P<verb>add|change|delete|password)?/?)?"
)
# The console's own pages record their buttons' writes themselves, on the tenant's trail (pages/frame.py).
_SKIP = ("/admin/login/", "/admin/logout/", "/admin/jsi18n/", "/admin/console/")


class ConsoleAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        if request.method in ("GET", "HEAD", "OPTIONS") or not path.startswith("/admin/") or path.startswith(_SKIP):
            return response
        match = _ADMIN.match(path)
        app, model, object_id, verb = (
            (match.group("app"), match.group("model"), match.group("id"), match.group("verb"))
            if match
            else (None, None, None, None)
        )
        if object_id == "add":
            object_id, verb = None, "add"
        status = response.status_code
        if verb is None:
            verb = request.POST.get("action", "") or "change"  # changelist actions: "delete_selected", ...
            object_id = ",".join(request.POST.getlist("_selected_action"))[:150] or object_id
            if status == 200 and "post" not in request.POST:
                return response  # the confirmation page of an action: nothing was written yet
        # The admin answers a successful form post with a redirect and a failed one with the form again (200).
        result = "denied" if status == 403 else "ok" if 300 <= status < 400 else "failed"
        record_request(
            request,
            action=f"console.{verb}",
            resource_type=f"{app}.{model}" if app else "console",
            resource_id=object_id or "",
            result=result,
            error_code="" if result == "ok" else f"HTTP_{status}",
        )
        return response
