"""OpenAPI descriptions drf-spectacular cannot infer on its own: the token scheme, the list filters, and the error
envelope every operation may answer with."""

from __future__ import annotations

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "controlplane.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Personal API token `stcp_<prefix>_<secret>`, scoped to one tenant",
        }


class LoginJWTScheme(OpenApiAuthenticationExtension):
    target_class = "controlplane.api.auth.LoginJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token of a login (`POST /api/v1/auth/token/`); dies with its login",
        }


class FilterSetParameters(DjangoFilterExtension):
    """The query parameters of a list's FilterSet (``filterset_class``), typed from the FilterSet's model.

    drf-spectacular's own extension finds the model through ``get_queryset()``, which a tenant view cannot answer
    without a bound tenant (it fails closed), and which it calls for every list, filtered or not."""

    target_class = "controlplane.api.filters.FilterBackend"
    priority = 1  # before drf-spectacular's extension, which matches this subclass of DjangoFilterBackend too

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):  # type: ignore[no-untyped-def]
        filterset_class = getattr(auto_schema.view, "filterset_class", None)
        # lists only, as before; an export reads the same filters, its document names only `format`
        if filterset_class is None or auto_schema.view.action != "list":
            return []
        model = filterset_class._meta.model
        parameters = [
            parameter
            for name, field in filterset_class.base_filters.items()
            for parameter in self.resolve_filter_field(auto_schema, model, filterset_class, name, field)
        ]
        # an empty value filters nothing, as an absent one does: the document allows it where a schema would not
        for parameter in parameters:
            schema = parameter["schema"]
            if "enum" in schema and "" not in schema["enum"]:
                schema["enum"].insert(0, "")
            elif "format" in schema:
                parameter["schema"] = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
        return parameters


# Error answers every operation may give, in the envelope (docs/API.md): the request's shape, credentials,
# permission, a path naming nothing the caller may see, limits and content negotiation, throttling.
ALWAYS = {
    "400": "invalid input (`details` names the field)",
    "401": "no or bad credentials",
    "403": "the permission point is missing (`details.permission`)",
    "404": "no such resource, or not one the caller may know of",
    "406": "the Accept header names no JSON",
    "413": "the request body is larger than the limit",
    "429": "throttled; wait `Retry-After` seconds",
}
WITH_BODY = {"415": "the body is not `application/json`"}
WRITES = {
    "409": "the resource changed, or a rule of its state refused the change",
    "412": "If-Match names an older version",
    "422": "Idempotency-Key reused with another request, or the engine refused the request",
}
# Operations that reach a SeaTunnel engine answer its failures (ZETA_* codes).
ENGINE_PATHS = ("/clusters/", "/runs/", "/jobs/", "/job-templates/", "/operations/", "/agents/")
ENGINE = {
    "501": "the cluster's engine version does not serve this",
    "502": "the engine was unreachable or answered something unexpected",
    "504": "the engine did not answer a submission in time",
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "request_id"],
            "properties": {
                "code": {"type": "string", "description": "stable UPPER_SNAKE code (docs/API.md)"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
                "request_id": {"type": "string"},
            },
        }
    },
}


def error_responses(result: dict, generator, request, public) -> dict:  # type: ignore[no-untyped-def]
    """drf-spectacular post-processing hook: document the envelope's error answers on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            errors = dict(ALWAYS)
            if "requestBody" in operation:
                errors.update(WITH_BODY)
            if method not in ("get", "head", "options"):
                errors.update(WRITES)
            if any(part in path for part in ENGINE_PATHS):
                errors.update(ENGINE)
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(status, {"description": description, **ref})
    return result
