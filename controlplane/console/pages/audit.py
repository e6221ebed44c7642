"""The tenant's audit trail (the one the API serves at ``/api/v1/tenants/<t>/audit/``), with the API's filters."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from controlplane.audit.api.filters import AuditFilter
from controlplane.audit.selectors import audit_list
from controlplane.console.pages.frame import Scope, page, render

PAGE_ROWS = 50
FILTERS = ("actor", "action", "resource_type", "resource_id", "result", "since", "until")


@page("audit.read", tenant_wide=True)
def audit(request: HttpRequest, scope: Scope) -> HttpResponse:
    found = AuditFilter({k: v for k, v in request.GET.items() if k in FILTERS}, queryset=audit_list(scope.tenant.id))
    if not found.is_valid():
        return render(request, scope, "console/audit.html", _("Audit"), errors=found.errors, records=[], filters={})
    records = Paginator(found.qs, PAGE_ROWS).get_page(request.GET.get("page"))
    filters = {k: request.GET.get(k, "") for k in FILTERS}
    return render(request, scope, "console/audit.html", _("Audit"), records=records, filters=filters, errors=None)
