"""The audit trail over HTTP: filtered, cursor-paginated lists and streamed CSV / JSON Lines exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from controlplane.api.base import AuditedViewSet, TenantViewSet
from controlplane.api.pagination import Cursor
from controlplane.audit import selectors
from controlplane.audit.api.filters import AuditFilter, PlatformAuditFilter
from controlplane.audit.api.serializers import FIELDS, AuditRecordSerializer
from controlplane.audit.models import AuditRecord
from controlplane.audit.recorder import record_request
from controlplane.errors import DomainError
from controlplane.iam import access


def export_response(request: Request, rows, name: str, tenant_id: str) -> StreamingHttpResponse:  # type: ignore[no-untyped-def]
    """Stream rows as CSV or JSON Lines (?format=), in id order, without loading them all; audited."""
    kind = request.query_params.get("format", "jsonl")
    if kind not in ("csv", "jsonl"):
        raise DomainError("format is csv or jsonl", code="VALIDATION_FAILED", field="format")
    values = rows.order_by("id").values_list(*FIELDS).iterator(chunk_size=2000)
    record_request(
        request,
        action="audit.export",
        resource_type="audit",
        result="ok",
        tenant_id=tenant_id,
        details={"format": kind, "filters": {k: v for k, v in request.query_params.items() if k != "format"}},
    )
    stream = _csv(values) if kind == "csv" else _jsonl(values)
    response = StreamingHttpResponse(stream, content_type="text/csv" if kind == "csv" else "application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="audit-{name}.{kind}"'
    return response


class AuditViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/api/v1/tenants/<tenant>/audit/`` (audit.read) and ``…/audit/export/?format=csv|jsonl`` (audit.export).

    Filters: actor, actor_kind, resource_type, resource_id, action, result, request_id, since, until (ISO 8601).
    """

    resource_type = "audit"
    serializer_class = AuditRecordSerializer
    pagination_class = type("AuditCursor", (Cursor,), {"ordering": "-id"})
    filterset_class = AuditFilter
    points = {"list": "audit.read", "export": "audit.export"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.audit_list(self.tenant.id)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "jsonl"], description="default jsonl")],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/jsonl"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request, tenant: str) -> StreamingHttpResponse:
        return export_response(request, self.filter_queryset(self.get_queryset()), self.tenant.slug, self.tenant.id)


class PlatformAuditViewSet(mixins.ListModelMixin, AuditedViewSet):
    """``/api/v1/audit/[export/]``: the whole trail for platform administrators, including what belongs to
    no tenant (failed logins, commands). Filters as above, plus ``tenant`` (an id, or ``none``)."""

    resource_type = "audit"
    permission_classes = [IsAuthenticated]
    serializer_class = AuditRecordSerializer
    pagination_class = type("PlatformAuditCursor", (Cursor,), {"ordering": "-id"})
    filterset_class = PlatformAuditFilter

    def initial(self, request: Request, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().initial(request, *args, **kwargs)
        access.require_platform_admin(request.user, "read the platform audit trail")

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return AuditRecord.objects.all()

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "jsonl"], description="default jsonl")],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/jsonl"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> StreamingHttpResponse:
        return export_response(request, self.filter_queryset(self.get_queryset()), "platform", "")


# A cell starting with one of these is run as a formula by spreadsheet programs (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value as a CSV cell that a spreadsheet shows as text: a leading formula character gets a ``'``
    before it. Only the CSV export does this; the JSON answers and JSON Lines keep the value as recorded."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows: Iterator[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl(rows: Iterator[tuple]) -> Iterator[str]:
    for row in rows:
        item = dict(zip(FIELDS, row, strict=True))
        item["occurred_at"] = item["occurred_at"].isoformat()
        item["details"] = json.loads(item["details"] or "{}")
        yield json.dumps(item, ensure_ascii=False) + "\n"
