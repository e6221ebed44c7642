"""Fault matching over HTTP: ``POST …/workspaces/<workspace>/faults/match`` with ``{"text": …}`` answers the same
list as ``manage.py match_fault``: the fingerprints the text matches, best first, ``[]`` for none."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet
from controlplane.clusters.models import Cluster
from controlplane.diagnostics.api.serializers import MatchRequestSerializer, MatchSerializer
from controlplane.diagnostics.domain.errors import FaultTextTooLarge
from controlplane.diagnostics.selectors import fault_match

MAX_TEXT_CHARS = 1_000_000  # a request body is also at most MAX_REQUEST_BYTES (REQUEST_TOO_LARGE)


class FaultViewSet(TenantViewSet):
    resource_type = "fault"
    workspace_scoped = True
    pagination_class = None
    points = {"match": "fault.read"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Cluster.objects.none()  # the library is code and data, the same for every tenant: no rows

    @extend_schema(request=MatchRequestSerializer, responses=MatchSerializer(many=True))
    def match(self, request: Request, tenant: str, workspace: str) -> Response:
        data = MatchRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["text"]
        if len(text) > MAX_TEXT_CHARS:
            raise FaultTextTooLarge(
                f"the text has {len(text)} characters, more than {MAX_TEXT_CHARS}", limit=MAX_TEXT_CHARS
            )
        found = fault_match(text, metrics=data.validated_data["metrics"])
        return Response([m.as_dict(with_evidence=data.validated_data["evidence"]) for m in found])
