"""The list filters of every API view: each app declares a django-filter ``FilterSet`` in its ``api/filters.py`` and
the view names it (``filterset_class``); ``FilterBackend`` applies it to the view's queryset, which is already the
tenant's (and narrowed to the caller's objects), so a filter only ever narrows.

A bad value answers 400 ``VALIDATION_FAILED`` with ``details.field`` (the first bad parameter, as domain errors
name theirs) and ``details.fields`` (every bad parameter with its messages, as any invalid input)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request

from controlplane.errors import DomainError


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        # filters narrow a collection; a route naming one object (get_object filters too) is not narrowed by them
        if (view.lookup_url_kwarg or view.lookup_field) in view.kwargs:
            return queryset
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            fields = {name: [str(m) for m in messages] for name, messages in filterset.errors.items()}
            raise DomainError(
                "the list's query has invalid parameters",
                code="VALIDATION_FAILED",
                field=next(iter(fields)),
                fields=fields,
            )
        return filterset.qs


def choices(values: Iterable[str]) -> list[tuple[str, str]]:
    """A ChoiceFilter's choices from a domain's states: the value is its own label."""
    return [(str(value), str(value)) for value in values]
