"""The tenant's audit trail (the one the API serves at ``/api/v1/tenants/<t>/audit/``), with the API's filters and
a link to the API's CSV export for those who hold ``audit.export``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from controlplane.audit.api.filters import AuditFilter
from controlplane.audit.selectors import audit_list
from controlplane.console.pages.frame import Scope, page, render
from controlplane.iam import access

PAGE_ROWS = 50
FILTERS = ("actor", "action", "resource_type", "resource_id", "result", "since", "until")


@page("audit.read", tenant_wide=True)
def audit(request: HttpRequest, scope: Scope) -> HttpResponse:
    found = AuditFilter({k: v for k, v in request.GET.items() if k in FILTERS}, queryset=audit_list(scope.tenant.id))
    if not found.is_valid():
        return render(request, scope, "console/audit.html", _("Audit"), errors=found.errors, records=[], filters={})
    records = Paginator(found.qs, PAGE_ROWS).get_page(request.GET.get("page"))
    filters = {k: request.GET.get(k, "") for k in FILTERS}
    # The export is the API's (audited there); the console only links to it with the same filters.
    export = None
    if access.has(scope.user, "audit.export", scope.tenant):
        query = urlencode({**{k: v for k, v in filters.items() if v}, "format": "csv"})
        export = f"/api/v1/tenants/{scope.tenant.slug}/audit/export/?{query}"
    return render(
        request, scope, "console/audit.html", _("Audit"), records=records, filters=filters, errors=None, export=export
    )
