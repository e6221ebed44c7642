"""Job templates over HTTP: ``…/workspaces/<workspace>/job-templates/`` (with their parameter schemas) and
``…/job-templates/<name>/render/`` (parameters -> config text). Templates are code
(controlplane/seatunnel/config/templates.py), the same for every tenant; rendering changes nothing."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.base import TenantViewSet
from controlplane.clusters.models import Cluster
from controlplane.errors import DomainError
from controlplane.jobs.api.serializers import (
    RenderedSerializer,
    RenderSerializer,
    TemplateListSerializer,
    TemplateSerializer,
)
from controlplane.seatunnel.catalog import parse_version
from controlplane.seatunnel.config.errors import JobTemplateUnknown
from controlplane.seatunnel.config.templates import TEMPLATES, Template, render_template, template_get

DEFAULT_ENGINE_VERSION = "2.3.12"


def template_payload(template: Template) -> dict:
    return {
        "name": template.name,
        "title": template.title,
        "description": template.description,
        "params": template.schema(),
    }


class JobTemplateViewSet(TenantViewSet):
    resource_type = "job_template"
    workspace_scoped = True
    lookup_url_kwarg = "name"
    serializer_class = TemplateSerializer
    pagination_class = None  # a handful of templates in code: one answer, no cursor
    points = {"catalogue": "job.read", "render": "job.create"}

    def scoped_queryset(self):  # type: ignore[no-untyped-def]
        return Cluster.objects.none()  # templates are not rows; nothing to scope

    @extend_schema(responses=TemplateListSerializer)
    def catalogue(self, request: Request, tenant: str, workspace: str) -> Response:
        """Every template in one answer (not named "list", which the schema generator would page)."""
        templates = [template_payload(t) for t in sorted(TEMPLATES.values(), key=lambda t: t.name)]
        return Response({"next": None, "previous": None, "results": templates})

    @extend_schema(request=RenderSerializer, responses=RenderedSerializer)
    def render(self, request: Request, tenant: str, workspace: str, name: str) -> Response:
        try:
            template = template_get(name)
        except JobTemplateUnknown as error:
            raise DomainError(error.message, code="JOB_TEMPLATE_NOT_FOUND", **error.details) from None
        data = RenderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = data.validated_data.get("engine_version") or DEFAULT_ENGINE_VERSION
        cluster_id = data.validated_data.get("cluster_id")
        if cluster_id:
            cluster = Cluster.objects.filter(id=cluster_id, removed=False).first()  # this workspace's only
            if cluster is None:
                raise DomainError("no such cluster", code="CLUSTER_NOT_FOUND", field="cluster_id")
            version = cluster.engine_version
        parse_version(version)  # JOB_CATALOG_VERSION_UNKNOWN for a version that is not one
        config = render_template(template.name, data.validated_data["params"], engine_version=version)
        return Response({"template": template.name, "engine_version": version, "format": "hocon", "config": config})
