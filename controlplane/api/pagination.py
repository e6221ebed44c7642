"""Cursor pagination for every list: stable under inserts, no COUNT(*) over large tables.

A ``page_size`` that is not a whole number in 1..500 and a cursor this server did not hand out are refused with
400 (PAGE_SIZE_INVALID, CURSOR_INVALID), never silently replaced by a default."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from controlplane.errors import DomainError

_WHOLE = re.compile(r"[0-9]{1,6}")


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-pk"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise DomainError(
                f"page_size is a whole number from 1 to {self.max_page_size}",
                code="PAGE_SIZE_INVALID",
                field=self.page_size_query_param,
            )
        return int(raw)

    def decode_cursor(self, request: Request):  # type: ignore[no-untyped-def]
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise DomainError(
                "the cursor is not one this list handed out", code="CURSOR_INVALID", field="cursor"
            ) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
